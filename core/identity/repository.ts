import type { Queryable } from '../db/pool.ts';
import type { Role, User } from './types.ts';

interface UserRow {
  id: string; username: string; display_name: string; roles: Role[]; locale: 'zh-CN' | 'en';
  disabled: boolean; created_at: Date; last_login_at: Date | null; password_hash: string;
}

const USER_COLUMNS = 'id, username, display_name, roles, locale, disabled, created_at, last_login_at, password_hash';

function toUser(row: UserRow): User {
  return {
    id: row.id, username: row.username, displayName: row.display_name, roles: row.roles, locale: row.locale,
    disabled: row.disabled, createdAt: row.created_at, lastLoginAt: row.last_login_at,
  };
}

export function createIdentityRepository(db: Queryable) {
  return {
    async findUserForLogin(username: string): Promise<(User & { passwordHash: string }) | null> {
      const { rows } = await db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE lower(username) = lower($1)`, [username]);
      const row = rows[0];
      return row ? { ...toUser(row), passwordHash: row.password_hash } : null;
    },

    async getUser(id: string): Promise<User | null> {
      const { rows } = await db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id]);
      return rows[0] ? toUser(rows[0]) : null;
    },

    async listUsers(): Promise<User[]> {
      const { rows } = await db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users ORDER BY lower(username)`);
      return rows.map(toUser);
    },

    async countUsers(): Promise<number> {
      const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
      return rows[0]?.n ?? 0;
    },

    async insertUser(u: { username: string; displayName: string; passwordHash: string; roles: Role[]; locale: string }): Promise<User> {
      const { rows } = await db.query<UserRow>(
        `INSERT INTO users (username, display_name, password_hash, roles, locale) VALUES ($1, $2, $3, $4, $5) RETURNING ${USER_COLUMNS}`,
        [u.username, u.displayName, u.passwordHash, u.roles, u.locale],
      );
      return toUser(rows[0]!);
    },

    async updateUser(id: string, patch: { displayName?: string; passwordHash?: string; roles?: Role[]; locale?: string; disabled?: boolean }): Promise<User | null> {
      const { rows } = await db.query<UserRow>(
        `UPDATE users SET display_name = COALESCE($2, display_name), password_hash = COALESCE($3, password_hash),
           roles = COALESCE($4, roles), locale = COALESCE($5, locale), disabled = COALESCE($6, disabled), updated_at = now()
         WHERE id = $1 RETURNING ${USER_COLUMNS}`,
        [id, patch.displayName ?? null, patch.passwordHash ?? null, patch.roles ?? null, patch.locale ?? null, patch.disabled ?? null],
      );
      return rows[0] ? toUser(rows[0]) : null;
    },

    async touchLogin(id: string): Promise<void> {
      await db.query('UPDATE users SET last_login_at = now() WHERE id = $1', [id]);
    },

    async insertSession(s: { tokenHash: Buffer; userId: string; expiresAt: Date; ip: string | null; userAgent: string | null }): Promise<void> {
      await db.query('INSERT INTO sessions (token_hash, user_id, expires_at, ip, user_agent) VALUES ($1, $2, $3, $4, $5)',
        [s.tokenHash, s.userId, s.expiresAt, s.ip, s.userAgent]);
    },

    /**
     * The live session's user, touching its last_seen_at at most once a minute: every request of a
     * signed-in tab authenticates here, and a committed write per request cost 1–14 ms of the
     * control room's latency budget (benchmarked) for a column read at minute precision.
     */
    async userBySession(tokenHash: Buffer): Promise<User | null> {
      const { rows } = await db.query<UserRow>(
        `WITH s AS (
           SELECT user_id FROM sessions WHERE token_hash = $1 AND expires_at > now()
         ), touched AS (
           UPDATE sessions SET last_seen_at = now()
           WHERE token_hash = $1 AND expires_at > now() AND last_seen_at < now() - interval '60 seconds'
         )
         SELECT ${USER_COLUMNS.split(', ').map((c) => 'u.' + c).join(', ')} FROM s JOIN users u ON u.id = s.user_id WHERE NOT u.disabled`,
        [tokenHash],
      );
      return rows[0] ? toUser(rows[0]) : null;
    },

    async deleteSession(tokenHash: Buffer): Promise<void> {
      await db.query('DELETE FROM sessions WHERE token_hash = $1', [tokenHash]);
    },

    async deleteExpiredSessions(): Promise<number> {
      const { rowCount } = await db.query('DELETE FROM sessions WHERE expires_at <= now()');
      return rowCount ?? 0;
    },

    async insertApiToken(t: { userId: string; name: string; tokenHash: Buffer; expiresAt: Date | null }): Promise<{ id: string }> {
      const { rows } = await db.query<{ id: string }>('INSERT INTO api_tokens (user_id, name, token_hash, expires_at) VALUES ($1, $2, $3, $4) RETURNING id',
        [t.userId, t.name, t.tokenHash, t.expiresAt]);
      return rows[0]!;
    },

    async userByApiToken(tokenHash: Buffer): Promise<User | null> {
      const { rows } = await db.query<UserRow>(
        `WITH t AS (
           UPDATE api_tokens SET last_used_at = now()
           WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
           RETURNING user_id
         )
         SELECT ${USER_COLUMNS.split(', ').map((c) => 'u.' + c).join(', ')} FROM t JOIN users u ON u.id = t.user_id WHERE NOT u.disabled`,
        [tokenHash],
      );
      return rows[0] ? toUser(rows[0]) : null;
    },

    async listApiTokens(userId: string): Promise<{ id: string; name: string; createdAt: Date; expiresAt: Date | null; lastUsedAt: Date | null; revokedAt: Date | null }[]> {
      const { rows } = await db.query(
        `SELECT id, name, created_at AS "createdAt", expires_at AS "expiresAt", last_used_at AS "lastUsedAt", revoked_at AS "revokedAt"
         FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC`, [userId]);
      return rows;
    },

    async passwordHash(id: string): Promise<string | null> {
      const { rows } = await db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [id]);
      return rows[0]?.password_hash ?? null;
    },

    /**
     * Cut a user's credentials off, in one statement: stamp `revoked_at`, end their
     * sessions (all but `keepSession`, the caller's own) and, with `tokens`, revoke their
     * API tokens for good. Returns the revocation time, or null when there is no such user.
     */
    async revokeCredentials(userId: string, opts: { keepSession?: Buffer; tokens: boolean }): Promise<Date | null> {
      const { rows } = await db.query<{ revoked_at: Date }>(
        `WITH u AS (
           UPDATE users SET revoked_at = now() WHERE id = $1 RETURNING id, revoked_at
         ), s AS (
           DELETE FROM sessions WHERE user_id IN (SELECT id FROM u) AND ($2::bytea IS NULL OR token_hash <> $2::bytea)
         ), t AS (
           UPDATE api_tokens SET revoked_at = now() WHERE $3 AND user_id IN (SELECT id FROM u) AND revoked_at IS NULL
         )
         SELECT revoked_at FROM u`,
        [userId, opts.keepSession ?? null, opts.tokens],
      );
      return rows[0]?.revoked_at ?? null;
    },

    /**
     * Users whose credentials were revoked at or after `since`, with the time: what the
     * gateway loads at start-up (and after a missed event) to refuse media tokens minted
     * before it.
     */
    async revokedSince(since: Date): Promise<{ userId: string; at: Date }[]> {
      const { rows } = await db.query<{ userId: string; at: Date }>(
        'SELECT id AS "userId", revoked_at AS at FROM users WHERE revoked_at >= $1 ORDER BY revoked_at', [since]);
      return rows;
    },

    async revokeApiToken(userId: string, id: string): Promise<boolean> {
      const { rowCount } = await db.query('UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL', [id, userId]);
      return (rowCount ?? 0) > 0;
    },
  };
}

export type IdentityRepository = ReturnType<typeof createIdentityRepository>;

/** For the gateway (media tokens): users revoked at or after `since`, from PostgreSQL. */
export function revokedSince(db: Queryable, since: Date): Promise<{ userId: string; at: Date }[]> {
  return createIdentityRepository(db).revokedSince(since);
}
