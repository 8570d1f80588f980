-- Media-token key ids (core/media-keys). No key material is stored: each key is derived
-- from the master key with HKDF and the kid in the info string. One kid is current
-- (retired_at NULL): the console signs with it. A retired kid still verifies for the
-- longest token life after retired_at, so tokens minted just before a rotation keep working.
CREATE TABLE media_keys (
  kid        text PRIMARY KEY CHECK (kid ~ '^[A-Za-z0-9_-]{1,32}$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  retired_at timestamptz,
  CHECK (retired_at IS NULL OR retired_at >= created_at)
);
-- At most one current key.
CREATE UNIQUE INDEX media_keys_one_current ON media_keys ((true)) WHERE retired_at IS NULL;
-- v1 derives the key that signed media tokens before key ids existed.
INSERT INTO media_keys (kid) VALUES ('v1');
