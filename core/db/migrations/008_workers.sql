-- The job platform (workers/): scheduled runs, snapshots, evidence exports, holds and the
-- purge queue retention works through.

-- Every run of a scheduled job (session purge, retention): when, how it ended, what it did.
CREATE TABLE job_runs (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  queue       text NOT NULL,
  name        text NOT NULL,
  job_id      text,
  started_at  timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  status      text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'ok', 'failed')),
  result      jsonb,
  error       text
);
CREATE INDEX job_runs_name_idx ON job_runs (name, started_at DESC);

-- Snapshots (抓图): one JPEG each, kept in the evidence store (path relative to it).
CREATE TABLE snapshots (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  device_id         uuid NOT NULL REFERENCES devices(id),
  taken_at          timestamptz NOT NULL,
  -- Where the picture came from: the running session's newest keyframe, the camera's ONVIF
  -- snapshot URI, or a short RTSP grab.
  source            text NOT NULL CHECK (source IN ('session', 'onvif', 'rtsp')),
  path              text NOT NULL UNIQUE,
  bytes             integer NOT NULL CHECK (bytes > 0),
  width             integer,
  height            integer,
  -- Who or what asked: a user, or a producer such as an alarm rule (requested_by NULL).
  requested_by      uuid REFERENCES users(id),
  requested_by_name text NOT NULL,
  purpose           text NOT NULL CHECK (purpose IN ('manual', 'alarm', 'incident', 'face', 'export')),
  reason            text,
  -- The job that took it (idempotency: a retried job finds its snapshot instead of taking another).
  job_id            text UNIQUE,
  created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX snapshots_device_idx ON snapshots (device_id, taken_at DESC);
CREATE INDEX snapshots_taken_idx ON snapshots (taken_at);

-- Evidence exports (证据导出): what was asked, by whom and why, and what was delivered.
CREATE TABLE exports (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  case_number       text NOT NULL,
  reason            text NOT NULL,
  requested_by      uuid NOT NULL REFERENCES users(id),
  requested_by_name text NOT NULL,
  requested_at      timestamptz NOT NULL DEFAULT now(),
  -- [{ "deviceId": uuid, "from": iso, "to": iso }]
  items             jsonb NOT NULL,
  snapshot_ids      uuid[] NOT NULL DEFAULT '{}',
  status            text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed', 'expired')),
  -- { "percent": 0–100, "bytes": written so far, "stage": "cutting" | "hashing" | "packing" }
  progress          jsonb NOT NULL DEFAULT '{"percent": 0, "bytes": 0}',
  -- The package, relative to the evidence store, once done.
  path              text,
  bytes             bigint,
  sha256            text,
  -- The signed manifest as packed (gaps, delivered ranges, hashes), for the console.
  manifest          jsonb,
  error             text,
  error_code        text,
  attempts          integer NOT NULL DEFAULT 0,
  started_at        timestamptz,
  finished_at       timestamptz
);
CREATE INDEX exports_requested_idx ON exports (requested_at DESC);
CREATE INDEX exports_requester_idx ON exports (requested_by, requested_at DESC);

-- Holds: footage that retention must keep (an export's ranges, later incident bookmarks and
-- evidence). Other features write here; retention only reads.
CREATE TABLE holds (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  device_id   uuid NOT NULL REFERENCES devices(id),
  starts_at   timestamptz NOT NULL,
  ends_at     timestamptz NOT NULL CHECK (ends_at > starts_at),
  kind        text NOT NULL CHECK (kind IN ('export', 'bookmark', 'evidence')),
  -- What holds it: an export id, an incident id…
  ref         text NOT NULL,
  reason      text,
  created_by  uuid REFERENCES users(id),
  created_at  timestamptz NOT NULL DEFAULT now(),
  released_at timestamptz,
  UNIQUE (kind, ref, device_id, starts_at)
);
CREATE INDEX holds_active_idx ON holds (device_id, starts_at, ends_at) WHERE released_at IS NULL;

-- The purge queue: an index row (recording segment, snapshot, export) leaves its table in
-- the same transaction its file enters here; the file is unlinked after, then this row goes.
-- A crash in between leaves rows here, which the next retention run finishes. So the index
-- never names a deleted file, and no file outlives its row for longer than one run.
CREATE TABLE media_purges (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- media: a gateway node's media directory (node_id names it); evidence: the evidence store.
  store     text NOT NULL CHECK (store IN ('media', 'evidence')),
  node_id   text NOT NULL DEFAULT '',
  path      text NOT NULL,
  bytes     bigint NOT NULL DEFAULT 0,
  queued_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (store, node_id, path)
);
