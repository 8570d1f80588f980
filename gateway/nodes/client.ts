import { HttpError, unavailable, type ErrorParams } from '../../core/http/errors.ts';
import type { NodeRepository } from './repository.ts';

/**
 * The console's way to a gateway node: find the node holding a device from the
 * lease table and call its internal API with the service token. Errors come
 * back in the API's own shape, with the gateway's status.
 */
export function createGatewayClient(deps: { nodes: NodeRepository; serviceToken: string; leaseSeconds: number; timeoutMs?: number }) {
  async function call<T>(baseUrl: string, method: string, path: string, body?: unknown, timeoutMs = deps.timeoutMs ?? 15_000): Promise<T> {
    let res: Response;
    try {
      res = await fetch(new URL(path, baseUrl), {
        method,
        headers: { authorization: `Bearer ${deps.serviceToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const reason = (err as Error).name === 'TimeoutError' ? 'did not answer in time' : 'is unreachable';
      throw unavailable(`gateway node ${reason}`);
    }
    if (res.status === 204) return undefined as T;
    const data = await res.json().catch(() => ({})) as { error?: string; code?: string; message?: string; field?: string; params?: ErrorParams };
    // The gateway's code and parameters pass through, so the web app words the error (api-errors/).
    if (!res.ok) {
      throw new HttpError(res.status, data.error ?? 'gateway_error', data.message ?? `gateway answered ${res.status}`, {
        ...(data.field !== undefined ? { field: data.field } : {}), ...(data.code !== undefined ? { code: data.code } : {}), ...(data.params !== undefined ? { params: data.params } : {}),
      });
    }
    return data as T;
  }

  /** A raw GET on a node's internal API (bytes: a segment, a frame), with the service token; errors as the API's shape. */
  async function fetchRaw(baseUrl: string, path: string, init: { method?: string; timeoutMs?: number; signal?: AbortSignal; body?: unknown; headers?: Record<string, string> } = {}): Promise<Response> {
    let res: Response;
    const timeout = AbortSignal.timeout(init.timeoutMs ?? deps.timeoutMs ?? 15_000);
    try {
      res = await fetch(new URL(path, baseUrl), {
        method: init.method ?? 'GET',
        headers: { ...init.headers, authorization: `Bearer ${deps.serviceToken}`, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
        signal: init.signal ? AbortSignal.any([timeout, init.signal]) : timeout,
      });
    } catch (err) {
      if (init.signal?.aborted) throw err;
      const reason = (err as Error).name === 'TimeoutError' ? 'did not answer in time' : 'is unreachable';
      throw unavailable(`gateway node ${reason}`);
    }
    if (!res.ok) {
      const data = await res.json().catch(() => ({})) as { error?: string; code?: string; message?: string; field?: string; params?: ErrorParams };
      throw new HttpError(res.status, data.error ?? 'gateway_error', data.message ?? `gateway answered ${res.status}`, {
        ...(data.field !== undefined ? { field: data.field } : {}), ...(data.code !== undefined ? { code: data.code } : {}), ...(data.params !== undefined ? { params: data.params } : {}),
      });
    }
    return res;
  }

  /** A live node by id, or a 503 naming it. */
  async function liveNode(nodeId: string) {
    const node = await deps.nodes.liveNode(nodeId, deps.leaseSeconds * 2);
    if (!node) throw unavailable(`gateway node ${nodeId} is not running`, { code: 'gateway.node_down', params: { node: nodeId } });
    return node;
  }

  return {
    /** Call one node by id (the node that recorded a segment). */
    async forNode<T>(nodeId: string, method: string, path: string, body?: unknown, timeoutMs?: number): Promise<T> {
      return call<T>((await liveNode(nodeId)).internalUrl, method, path, body, timeoutMs);
    },
    /** A raw answer (a file's bytes) from one node by id. */
    async rawFromNode(nodeId: string, path: string, init?: { method?: string; timeoutMs?: number; signal?: AbortSignal; body?: unknown; headers?: Record<string, string> }): Promise<Response> {
      return fetchRaw((await liveNode(nodeId)).internalUrl, path, init);
    },
    /**
     * Where a program of ours other than this one (an export's ffmpeg) reads a node's internal
     * path, and the header that authorises it: to be handed over in a file, never on a command line.
     */
    async endpoint(nodeId: string, path: string): Promise<{ url: string; authorization: string }> {
      return { url: new URL(path, (await liveNode(nodeId)).internalUrl).toString(), authorization: `Bearer ${deps.serviceToken}` };
    },
    /** A raw answer (a frame's bytes) from the node that holds `deviceId`. */
    async rawForDevice(deviceId: string, path: string, init?: { method?: string; timeoutMs?: number; signal?: AbortSignal; body?: unknown }): Promise<Response> {
      const node = await deps.nodes.nodeForDevice(deviceId);
      if (!node) throw unavailable('no gateway node holds this device right now (is the gateway running and the device enabled?)', { code: 'gateway.no_node' });
      return fetchRaw(node.internalUrl, path, init);
    },
    /** Call the node that holds `deviceId`. */
    async forDevice<T>(deviceId: string, method: string, path: string, body?: unknown, timeoutMs?: number): Promise<T> {
      const node = await deps.nodes.nodeForDevice(deviceId);
      if (!node) throw unavailable('no gateway node holds this device right now (is the gateway running and the device enabled?)');
      return call<T>(node.internalUrl, method, path, body, timeoutMs);
    },
    /** The node holding a device (for its public media URL), or a 503. */
    async nodeFor(deviceId: string) {
      const node = await deps.nodes.nodeForDevice(deviceId);
      if (!node) throw unavailable('no gateway node holds this device right now (is the gateway running and the device enabled?)');
      return node;
    },
    /** The node to serve a device's footage (held, disabled or decommissioned alike), or a 503. */
    async footageNode(deviceId: string) {
      const node = await deps.nodes.nodeForFootage(deviceId, deps.leaseSeconds * 2);
      if (!node) throw unavailable('no gateway node is running');
      return node;
    },
    /** Call any live node (probing a device that is not registered yet). */
    async anyNode<T>(method: string, path: string, body?: unknown, timeoutMs?: number): Promise<T> {
      const node = await deps.nodes.anyLiveNode(deps.leaseSeconds * 2);
      if (!node) throw unavailable('no gateway node is running');
      return call<T>(node.internalUrl, method, path, body, timeoutMs);
    },
  };
}

export type GatewayClient = ReturnType<typeof createGatewayClient>;
