import { ANY_ROLE, CONTROL_ROOM, type Principal, type Role } from '../../../core/identity/types.ts';

// The realtime wire protocol (/api/events, see docs/control-room/realtime.md) as pure
// functions of plain values: what a client frame means, who may hear which topic, when a
// socket floods. The hub (hub.ts) acts on their answers.

/** A frame longer than this (bytes) is garbage: the socket is closed with 1008. */
export const MAX_FRAME_BYTES = 4 * 1024;
/** At most this many topics in one subscribe/unsubscribe frame, and on one socket. */
export const MAX_TOPICS_PER_FRAME = 50;
export const MAX_TOPICS_PER_SOCKET = 200;
/** At most this many events are replayed on subscribe; more missed → `resync`. */
export const REPLAY_LIMIT = 1000;
/** A socket whose unsent bytes pass this is a slow consumer and is closed. */
export const MAX_BUFFERED_BYTES = 1024 * 1024;
/** Server ping every this many ms; a socket that did not answer the previous one is dead. */
export const PING_INTERVAL_MS = 30_000;

/** WebSocket close codes the server uses. */
export const CLOSE = {
  /** Policy violation: garbage, flood, oversized frame, slow consumer. */
  policy: 1008,
  /** Server going away (shutdown). */
  goingAway: 1001,
  /** Credentials no longer valid (logout, disabled user, password change). */
  unauthenticated: 4401,
  /** The user's roles no longer allow the channel. */
  forbidden: 4403,
} as const;

/** The reasons a socket is closed with (the close frame's reason text, stable codes). */
export type CloseReason =
  | 'realtime.bad_message' | 'realtime.frame_too_large' | 'realtime.flood' | 'realtime.slow_consumer'
  | 'realtime.revoked' | 'realtime.forbidden' | 'realtime.shutdown' | 'realtime.dead';

/**
 * Who may subscribe to which topic: the first rule whose pattern matches decides. `roles` hear
 * it outright; `members` (patrol) only when the hub's membership check says the topic is theirs
 * (a patrol user hears `unit:<id>` of a unit they are a member of, and no other).
 */
export interface TopicRule { pattern: RegExp; roles: readonly Role[]; members?: readonly Role[]; what: string }
/** The control room's side of the linkage: monitors, supervisors and admins. */
const LINKAGE_ROOM: readonly Role[] = ['admin', 'supervisor', 'monitor'];
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
export const TOPIC_RULES: readonly TopicRule[] = [
  { pattern: /^alarms$/, roles: CONTROL_ROOM, what: 'alarms raised and handled' },
  { pattern: /^devices$/, roles: CONTROL_ROOM, what: 'device status changes' },
  { pattern: /^incidents$/, roles: CONTROL_ROOM, what: 'incidents created and updated' },
  { pattern: /^incident:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, roles: CONTROL_ROOM, what: 'one incident and its timeline' },
  { pattern: /^units$/, roles: LINKAGE_ROOM, what: 'patrol units: positions, duty and state' },
  { pattern: /^cues$/, roles: LINKAGE_ROOM, what: 'every cue sent, moved and escalated' },
  { pattern: new RegExp(`^unit:${UUID}$`), roles: LINKAGE_ROOM, members: ['patrol'], what: 'one unit: its cues and the cameras pushed to it' },
];

/** Who may open the channel at all: everyone signed in; what each hears is decided per topic. */
export const CHANNEL_ROLES: readonly Role[] = ANY_ROLE;

export type TopicCode = 'realtime.topic_unknown' | 'realtime.topic_forbidden' | 'realtime.too_many_topics';

/**
 * May `principal` hear `topic`? `ok`; `member` when only the membership check can say (a patrol
 * user and `unit:<id>`); or the refusal code sent back in `subscribed.refused`.
 */
export function topicVerdict(topic: string, principal: Principal, rules: readonly TopicRule[] = TOPIC_RULES): 'ok' | 'member' | TopicCode {
  const rule = rules.find((r) => r.pattern.test(topic));
  if (!rule) return 'realtime.topic_unknown';
  if (principal.kind === 'service') return 'realtime.topic_forbidden';
  if (principal.roles.some((r) => rule.roles.includes(r))) return 'ok';
  return rule.members && principal.roles.some((r) => rule.members!.includes(r)) ? 'member' : 'realtime.topic_forbidden';
}

/** A client frame, understood. */
export type ClientMessage =
  | { op: 'subscribe'; topics: string[]; after: number | null }
  | { op: 'unsubscribe'; topics: string[] }
  | { op: 'ping' };

const isTopicList = (v: unknown): v is string[] =>
  Array.isArray(v) && v.length <= MAX_TOPICS_PER_FRAME && v.every((t) => typeof t === 'string' && t.length > 0 && t.length <= 200);

/**
 * Parse one client frame. `null` means garbage (not text, not JSON, an unknown op, a wrong
 * shape, over MAX_FRAME_BYTES): the socket is closed. Duplicate topics are folded.
 */
export function parseClientMessage(data: string | Buffer, isBinary: boolean): ClientMessage | { garbage: 'realtime.bad_message' | 'realtime.frame_too_large' } {
  const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  if (bytes > MAX_FRAME_BYTES) return { garbage: 'realtime.frame_too_large' };
  if (isBinary) return { garbage: 'realtime.bad_message' };
  let msg: unknown;
  try {
    msg = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
  } catch {
    return { garbage: 'realtime.bad_message' };
  }
  if (!msg || typeof msg !== 'object' || Array.isArray(msg)) return { garbage: 'realtime.bad_message' };
  const m = msg as Record<string, unknown>;
  if (m.op === 'ping') return { op: 'ping' };
  if (m.op === 'subscribe' || m.op === 'unsubscribe') {
    if (!isTopicList(m.topics)) return { garbage: 'realtime.bad_message' };
    const topics = [...new Set(m.topics)];
    if (m.op === 'unsubscribe') return { op: 'unsubscribe', topics };
    const after = m.after;
    if (after !== undefined && after !== null && !(typeof after === 'number' && Number.isSafeInteger(after) && after >= 0)) {
      return { garbage: 'realtime.bad_message' };
    }
    return { op: 'subscribe', topics, after: typeof after === 'number' ? after : null };
  }
  return { garbage: 'realtime.bad_message' };
}

/**
 * A fixed one-second window of message counts: `hit(now)` counts a message and says whether
 * the socket is now over `max` in the current second (then it is closed).
 */
export function createRateWindow(max: number) {
  let windowStart = 0;
  let count = 0;
  return {
    hit(now: number): boolean {
      if (now - windowStart >= 1000) {
        windowStart = now;
        count = 0;
      }
      count += 1;
      return count > max;
    },
  };
}

/**
 * Which replayed events to send and whether the client must resync: `rows` were read with
 * limit REPLAY_LIMIT + 1, so more than REPLAY_LIMIT rows means more were missed than replay sends.
 */
export function replayPlan<E>(rows: readonly E[], limit = REPLAY_LIMIT): { send: readonly E[]; resync: boolean } {
  return rows.length > limit ? { send: [], resync: true } : { send: rows, resync: false };
}
