-- RTMP stream keys are secrets like camera passwords: keep only their SHA-256 (hex). A key is
-- shown once, when the mobile camera is created or its key rotated; pushes are looked up by
-- the hash, and the gateway pulls a push by device id, so nothing needs the key again.
ALTER TABLE devices RENAME COLUMN stream_key TO stream_key_hash;
UPDATE devices SET stream_key_hash = encode(sha256(convert_to(stream_key_hash, 'UTF8')), 'hex') WHERE stream_key_hash IS NOT NULL;
