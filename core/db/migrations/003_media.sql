-- Recording segments as they close (gateway/recordings), and stream session history (gateway/streams).
CREATE TABLE recording_segments (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  device_id  uuid NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
  starts_at  timestamptz NOT NULL,
  ends_at    timestamptz NOT NULL CHECK (ends_at > starts_at),
  -- Relative to the media root, e.g. rec/<device>/<day>/<start>.ts
  path       text NOT NULL,
  bytes      bigint NOT NULL CHECK (bytes >= 0),
  node_id    text,
  UNIQUE (device_id, starts_at),
  UNIQUE (path)
);
CREATE INDEX recording_segments_range_idx ON recording_segments (device_id, starts_at, ends_at);

-- Every session state change with its reason: why a camera was black at 03:12.
CREATE TABLE stream_events (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  device_id  uuid NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
  at         timestamptz NOT NULL DEFAULT now(),
  node_id    text NOT NULL,
  state      text NOT NULL CHECK (state IN ('starting','live','reconnecting','failed','stopped','degraded')),
  reason     text,
  mode       text CHECK (mode IN ('copy','transcode')),
  stderr_tail text
);
CREATE INDEX stream_events_device_idx ON stream_events (device_id, at DESC);
