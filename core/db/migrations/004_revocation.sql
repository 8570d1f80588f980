-- Revocation: when a user's credentials were last cut off (disabled, password reset or
-- changed). Anything minted before it (media tokens carry their `iat`) is refused; the
-- gateway learns the time from the identity.revoked event and from this column.
ALTER TABLE users ADD COLUMN revoked_at timestamptz;
CREATE INDEX users_revoked_idx ON users (revoked_at) WHERE revoked_at IS NOT NULL;
