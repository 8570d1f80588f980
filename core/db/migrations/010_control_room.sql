-- The control room (console/server): the realtime event log, alarms, incidents (警情) with
-- their timeline and bookmarks, the video wall's saved layouts and tours.
-- pg_trgm gives the incident list its text search over a million rows; earthdistance (on
-- cube) the "cameras within r metres" search. Both are trusted contrib extensions.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS cube;
CREATE EXTENSION IF NOT EXISTS earthdistance;

CREATE INDEX devices_earth_idx ON devices USING gist (ll_to_earth(lat, lon)) WHERE lat IS NOT NULL AND lon IS NOT NULL;

-- Every realtime event is a row first (core/events): its id is the order clients replay in
-- after a reconnect. Rows older than the replay window are purged by the maintenance job.
CREATE TABLE events (
  id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at       timestamptz NOT NULL DEFAULT now(),
  -- alarms | devices | incidents | incident:<uuid> | (later) units, unit:<uuid>, cues …
  topic    text NOT NULL CHECK (length(topic) BETWEEN 1 AND 100),
  -- What happened, e.g. alarm.raised, alarm.acked, incident.created, incident.updated, device.status
  kind     text NOT NULL CHECK (length(kind) BETWEEN 1 AND 100),
  payload  jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX events_topic_idx ON events (topic, id);
CREATE INDEX events_at_idx ON events (at);

-- Alarms (报警) of every kind. Device alarms come from the gateway (health, sessions,
-- recordings); face and plate alarms from their workers when those land.
CREATE TABLE alarms (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  raised_at     timestamptz NOT NULL DEFAULT now(),
  kind          text NOT NULL CHECK (kind IN ('device_offline','device_online','recording_gap','session_failed','face','plate','manual')),
  severity      text NOT NULL DEFAULT 'warning' CHECK (severity IN ('info','warning','critical')),
  device_id     uuid REFERENCES devices(id) ON DELETE SET NULL,
  -- Denormalised so an alarm reads right after its device is renamed or removed.
  device_name   text,
  lat           double precision CHECK (lat BETWEEN -90 AND 90),
  lon           double precision CHECK (lon BETWEEN -180 AND 180),
  -- Kind-specific facts (reason, gap start/end, session error, match score, snapshot id …).
  details       jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- One alarm per occurrence: a retried raise with the same key makes no second row.
  dedup_key     text UNIQUE,
  acked_at      timestamptz,
  acked_by      uuid REFERENCES users(id),
  acked_by_name text,
  ack_note      text,
  incident_id   uuid
);
CREATE INDEX alarms_raised_idx ON alarms (raised_at DESC);
CREATE INDEX alarms_open_idx ON alarms (raised_at DESC) WHERE acked_at IS NULL;
CREATE INDEX alarms_device_idx ON alarms (device_id, raised_at DESC);
CREATE INDEX alarms_incident_idx ON alarms (incident_id) WHERE incident_id IS NOT NULL;

-- Incident numbers: <site prefix><yyyymmdd><4-digit sequence>, the sequence per site-local day.
CREATE TABLE incident_numbers (
  day  date PRIMARY KEY,
  last integer NOT NULL
);

CREATE TABLE incidents (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  number          text NOT NULL UNIQUE,
  -- A code of the configured catalogue (config incidents.types).
  type            text NOT NULL,
  priority        smallint NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 4),
  source          text NOT NULL CHECK (source IN ('call_110','video_patrol','face_alarm','plate_alarm','patrol_report','other')),
  status          text NOT NULL DEFAULT 'new' CHECK (status IN ('new','dispatched','on_scene','resolved','closed','cancelled')),
  title           text NOT NULL CHECK (length(title) BETWEEN 1 AND 10000),
  description     text NOT NULL DEFAULT '',
  address         text NOT NULL DEFAULT '',
  lat             double precision CHECK (lat BETWEEN -90 AND 90),
  lon             double precision CHECK (lon BETWEEN -180 AND 180),
  -- When it happened (the 110 call's time, the moment on the video), distinct from when it was entered.
  occurred_at     timestamptz NOT NULL,
  reporter_name   text NOT NULL DEFAULT '',
  reporter_phone  text NOT NULL DEFAULT '',
  site_id         uuid REFERENCES sites(id) ON DELETE SET NULL,
  -- The camera it was raised from (a wall tile), when it was.
  device_id       uuid REFERENCES devices(id) ON DELETE SET NULL,
  version         integer NOT NULL DEFAULT 1,
  created_by      uuid REFERENCES users(id),
  created_by_name text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  closed_at       timestamptz
);
CREATE INDEX incidents_occurred_idx ON incidents (occurred_at DESC, id);
CREATE INDEX incidents_status_idx ON incidents (status, occurred_at DESC);
CREATE INDEX incidents_type_idx ON incidents (type, occurred_at DESC);
-- The list's commonest filter (open incidents of a type) and its capped count: an index-only scan.
CREATE INDEX incidents_type_status_idx ON incidents (type, status, occurred_at DESC, id);
CREATE INDEX incidents_geo_idx ON incidents (lat, lon);
CREATE INDEX incidents_text_idx ON incidents USING gin ((number || ' ' || title || ' ' || description || ' ' || address) gin_trgm_ops);

ALTER TABLE alarms ADD CONSTRAINT alarms_incident_fk FOREIGN KEY (incident_id) REFERENCES incidents(id) ON DELETE SET NULL;

-- The incident's timeline: everything done to it, by whom and when. Append-only.
CREATE TABLE incident_events (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  incident_id uuid NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
  at          timestamptz NOT NULL DEFAULT now(),
  actor_id    uuid REFERENCES users(id),
  actor_name  text NOT NULL,
  -- created, updated (details.changes), status (details.from/to), bookmark.added/removed,
  -- snapshot.added, alarm.joined, export.started, camera.viewed, note …
  kind        text NOT NULL,
  details     jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX incident_events_idx ON incident_events (incident_id, at, id);

-- Bookmarked footage ranges (书签) on an incident; each also holds its range from retention
-- (holds kind 'bookmark', ref the bookmark id) while the incident is open.
CREATE TABLE bookmarks (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  incident_id     uuid NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
  device_id       uuid NOT NULL REFERENCES devices(id),
  starts_at       timestamptz NOT NULL,
  ends_at         timestamptz NOT NULL CHECK (ends_at > starts_at),
  note            text NOT NULL DEFAULT '',
  created_by      uuid REFERENCES users(id),
  created_by_name text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bookmarks_incident_idx ON bookmarks (incident_id, starts_at);
CREATE INDEX bookmarks_device_idx ON bookmarks (device_id, starts_at);

-- Snapshots and exports taken for an incident; a snapshot can also be a frame of the recording
-- at a past moment (source 'recording').
ALTER TABLE snapshots DROP CONSTRAINT snapshots_source_check;
ALTER TABLE snapshots ADD CONSTRAINT snapshots_source_check CHECK (source IN ('session', 'onvif', 'rtsp', 'recording'));
ALTER TABLE snapshots ADD COLUMN incident_id uuid REFERENCES incidents(id) ON DELETE SET NULL;
CREATE INDEX snapshots_incident_idx ON snapshots (incident_id) WHERE incident_id IS NOT NULL;
ALTER TABLE exports ADD COLUMN incident_id uuid REFERENCES incidents(id) ON DELETE SET NULL;
CREATE INDEX exports_incident_idx ON exports (incident_id) WHERE incident_id IS NOT NULL;

-- The video wall: each user's saved layouts (布局) and the tours (轮巡) monitors run.
CREATE TABLE wall_layouts (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  grid        smallint NOT NULL CHECK (grid IN (1, 4, 9, 16, 25)),
  -- [{ "index": 0, "deviceId": uuid | null }]
  tiles       jsonb NOT NULL DEFAULT '[]'::jsonb,
  is_default  boolean NOT NULL DEFAULT false,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, name)
);

CREATE TABLE tours (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 100) UNIQUE,
  device_ids       uuid[] NOT NULL CHECK (cardinality(device_ids) BETWEEN 1 AND 500),
  interval_seconds integer NOT NULL DEFAULT 15 CHECK (interval_seconds BETWEEN 5 AND 3600),
  grid             smallint NOT NULL DEFAULT 4 CHECK (grid IN (1, 4, 9, 16, 25)),
  created_by       uuid REFERENCES users(id) ON DELETE SET NULL,
  created_by_name  text NOT NULL,
  updated_at       timestamptz NOT NULL DEFAULT now()
);
