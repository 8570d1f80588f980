import type { Principal } from '../identity/types.ts';

export interface AuditEntry {
  actor: Principal | { kind: 'system'; userId: null; username: string };
  /** Dotted verb: `auth.login`, `device.create`, `ptz.move`, `footage.view`. */
  action: string;
  targetType?: string;
  targetId?: string;
  outcome?: 'ok' | 'denied' | 'failed';
  /** Why the person did it, when they were asked (footage, exports). */
  reason?: string;
  details?: Record<string, unknown>;
  ip?: string;
  requestId?: string;
}

export interface AuditRecord {
  id: number; at: Date; actorId: string | null; actorName: string; actorKind: string; action: string;
  targetType: string | null; targetId: string | null; outcome: string; reason: string | null;
  details: Record<string, unknown>; ip: string | null; requestId: string | null;
}

export interface AuditLog {
  record(entry: AuditEntry): Promise<void>;
}
