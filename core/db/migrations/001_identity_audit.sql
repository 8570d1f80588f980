-- Identity: users, browser sessions, API tokens. Audit: append-only.
CREATE TABLE users (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  username      text NOT NULL,
  display_name  text NOT NULL DEFAULT '',
  password_hash text NOT NULL,
  roles         text[] NOT NULL CHECK (roles <@ ARRAY['admin','supervisor','monitor','investigator','patrol']::text[] AND cardinality(roles) > 0),
  locale        text NOT NULL DEFAULT 'zh-CN' CHECK (locale IN ('zh-CN','en')),
  disabled      boolean NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  last_login_at timestamptz
);
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

-- A session is stored by the SHA-256 of its cookie value: a database leak gives no live cookie.
CREATE TABLE sessions (
  token_hash   bytea PRIMARY KEY,
  user_id      uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  ip           text,
  user_agent   text
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expiry_idx ON sessions (expires_at);

CREATE TABLE api_tokens (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id      uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name         text NOT NULL,
  token_hash   bytea NOT NULL UNIQUE,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz,
  last_used_at timestamptz,
  revoked_at   timestamptz
);

CREATE TABLE audit_log (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  actor_id    uuid,
  actor_name  text NOT NULL,
  actor_kind  text NOT NULL CHECK (actor_kind IN ('user','api','service','system')),
  action      text NOT NULL,
  target_type text,
  target_id   text,
  outcome     text NOT NULL DEFAULT 'ok' CHECK (outcome IN ('ok','denied','failed')),
  reason      text,
  details     jsonb NOT NULL DEFAULT '{}'::jsonb,
  ip          text,
  request_id  text
);
CREATE INDEX audit_at_idx ON audit_log (at DESC);
CREATE INDEX audit_actor_idx ON audit_log (actor_id, at DESC);
CREATE INDEX audit_target_idx ON audit_log (target_type, target_id, at DESC);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
