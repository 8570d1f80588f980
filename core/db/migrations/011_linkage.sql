-- Monitor-patrol linkage (监巡联动, console/server/linkage): patrol units and their members,
-- duty shifts, GPS tracks, cues (监巡指令) with every transition timed, the cameras pushed to a
-- unit's phone, report photos, rings (三圈) around incidents, and the response times of each
-- incident that the 1/3/5-minute targets are measured by.

CREATE TABLE patrol_units (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  call_sign       text NOT NULL UNIQUE CHECK (length(call_sign) BETWEEN 1 AND 40),
  kind            text NOT NULL CHECK (kind IN ('vehicle','foot','motorbike','ebike')),
  -- available | busy (holds an active cue) | off_duty (no member on duty)
  state           text NOT NULL DEFAULT 'off_duty' CHECK (state IN ('available','busy','off_duty')),
  station_id      uuid REFERENCES sites(id) ON DELETE SET NULL,
  -- 责任田: a closed ring of [lon, lat] points (GeoJSON order), or null.
  grid            jsonb,
  grid_name       text NOT NULL DEFAULT '',
  -- A vehicle GPS terminal's credential: its id, and the SHA-256 of its secret (shown once).
  terminal_id     text UNIQUE CHECK (terminal_id ~ '^[A-Za-z0-9_.:-]{1,64}$'),
  terminal_secret_hash bytea,
  -- The latest fix, denormalised for the map and the nearest-unit search.
  lat             double precision CHECK (lat BETWEEN -90 AND 90),
  lon             double precision CHECK (lon BETWEEN -180 AND 180),
  heading         double precision CHECK (heading >= 0 AND heading < 360),
  speed           double precision CHECK (speed >= 0),
  fix_at          timestamptz,
  fix_source      text CHECK (fix_source IN ('phone','terminal')),
  on_duty_since   timestamptz,
  disabled        boolean NOT NULL DEFAULT false,
  version         integer NOT NULL DEFAULT 1,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX patrol_units_earth_idx ON patrol_units USING gist (ll_to_earth(lat, lon)) WHERE lat IS NOT NULL AND lon IS NOT NULL;
CREATE INDEX patrol_units_state_idx ON patrol_units (state) WHERE NOT disabled;

-- Who may go on duty with a unit (patrol users).
CREATE TABLE unit_members (
  unit_id  uuid NOT NULL REFERENCES patrol_units(id) ON DELETE CASCADE,
  user_id  uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  PRIMARY KEY (unit_id, user_id)
);
CREATE INDEX unit_members_user_idx ON unit_members (user_id);

-- A member's time on duty with a unit; one open shift per user.
CREATE TABLE duty_shifts (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  unit_id    uuid NOT NULL REFERENCES patrol_units(id) ON DELETE CASCADE,
  user_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  started_at timestamptz NOT NULL DEFAULT now(),
  ended_at   timestamptz,
  CHECK (ended_at IS NULL OR ended_at >= started_at)
);
CREATE UNIQUE INDEX duty_shifts_open_user_idx ON duty_shifts (user_id) WHERE ended_at IS NULL;
CREATE INDEX duty_shifts_unit_idx ON duty_shifts (unit_id, started_at DESC);

-- GPS tracks, kept linkage.trackRetentionDays. `at` is the fix's own time (queued fixes arrive late).
-- The busiest table of the linkage (a terminal reports every few seconds): one index, the key a
-- track is read by and duplicates are refused by, and a BRIN on the time the purge deletes by.
CREATE TABLE unit_positions (
  unit_id     uuid NOT NULL REFERENCES patrol_units(id) ON DELETE CASCADE,
  at          timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  lat         double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
  lon         double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
  heading     double precision CHECK (heading >= 0 AND heading < 360),
  speed       double precision CHECK (speed >= 0),
  accuracy    double precision CHECK (accuracy >= 0),
  source      text NOT NULL CHECK (source IN ('phone','terminal')),
  PRIMARY KEY (unit_id, at)
);
CREATE INDEX unit_positions_received_brin ON unit_positions USING brin (received_at);

-- Cues (监巡指令): received → en_route → on_scene → done, or cancelled / reassigned.
CREATE TABLE cues (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  incident_id      uuid NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
  unit_id          uuid NOT NULL REFERENCES patrol_units(id),
  status           text NOT NULL DEFAULT 'sent' CHECK (status IN ('sent','received','en_route','on_scene','done','cancelled','reassigned')),
  message          text NOT NULL DEFAULT '' CHECK (length(message) <= 2000),
  camera_ids       uuid[] NOT NULL DEFAULT '{}' CHECK (cardinality(camera_ids) <= 16),
  snapshot_id      uuid REFERENCES snapshots(id) ON DELETE SET NULL,
  -- The ring a ring-wide cue was sent for (0 管控圈, 1 防控圈, 2 封控圈), or null.
  ring             smallint CHECK (ring BETWEEN 0 AND 2),
  distance_m       double precision,
  created_by       uuid REFERENCES users(id),
  created_by_name  text NOT NULL,
  sent_at          timestamptz NOT NULL DEFAULT now(),
  ack_deadline     timestamptz NOT NULL,
  received_at      timestamptz,
  en_route_at      timestamptz,
  on_scene_at      timestamptz,
  done_at          timestamptz,
  cancelled_at     timestamptz,
  escalated_at     timestamptz,
  report           text NOT NULL DEFAULT '' CHECK (length(report) <= 4000),
  reassigned_to    uuid REFERENCES cues(id),
  version          integer NOT NULL DEFAULT 1
);
CREATE INDEX cues_incident_idx ON cues (incident_id, sent_at);
CREATE INDEX cues_unit_idx ON cues (unit_id, sent_at DESC);
-- A unit holds at most one active cue (reassign first).
CREATE UNIQUE INDEX cues_active_unit_idx ON cues (unit_id) WHERE status IN ('sent','received','en_route','on_scene');
CREATE INDEX cues_unacked_idx ON cues (ack_deadline) WHERE status = 'sent' AND escalated_at IS NULL;

-- Every transition of a cue, who did it, and (for an override of the rules) why.
CREATE TABLE cue_events (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  cue_id      uuid NOT NULL REFERENCES cues(id) ON DELETE CASCADE,
  at          timestamptz NOT NULL DEFAULT now(),
  actor_id    uuid REFERENCES users(id),
  actor_name  text NOT NULL,
  from_status text,
  to_status   text NOT NULL,
  override    boolean NOT NULL DEFAULT false,
  reason      text NOT NULL DEFAULT '',
  lat         double precision,
  lon         double precision
);
CREATE INDEX cue_events_cue_idx ON cue_events (cue_id, at);

-- Report photos taken by the phone (stored under <dataDir>/cue-photos).
CREATE TABLE cue_photos (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  cue_id       uuid NOT NULL REFERENCES cues(id) ON DELETE CASCADE,
  path         text NOT NULL,
  bytes        integer NOT NULL,
  sha256       text NOT NULL,
  content_type text NOT NULL CHECK (content_type IN ('image/jpeg','image/png','image/webp')),
  uploaded_by  uuid REFERENCES users(id),
  uploaded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cue_photos_cue_idx ON cue_photos (cue_id);

-- Cameras a monitor pushed to a unit's phone: the only video a patrol user may open.
CREATE TABLE unit_camera_pushes (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  unit_id     uuid NOT NULL REFERENCES patrol_units(id) ON DELETE CASCADE,
  device_id   uuid NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
  cue_id      uuid REFERENCES cues(id) ON DELETE SET NULL,
  pushed_by   uuid REFERENCES users(id),
  pushed_by_name text NOT NULL,
  pushed_at   timestamptz NOT NULL DEFAULT now(),
  ended_at    timestamptz
);
CREATE UNIQUE INDEX unit_camera_pushes_active_idx ON unit_camera_pushes (unit_id, device_id) WHERE ended_at IS NULL;

-- The rings (三圈) set around an incident.
CREATE TABLE incident_rings (
  incident_id   uuid PRIMARY KEY REFERENCES incidents(id) ON DELETE CASCADE,
  radii_m       integer[] NOT NULL CHECK (cardinality(radii_m) = 3),
  lat           double precision NOT NULL,
  lon           double precision NOT NULL,
  active        boolean NOT NULL DEFAULT true,
  set_by        uuid REFERENCES users(id),
  set_by_name   text NOT NULL,
  set_at        timestamptz NOT NULL DEFAULT now(),
  cleared_at    timestamptz
);
CREATE INDEX incident_rings_active_idx ON incident_rings USING gist (ll_to_earth(lat, lon)) WHERE active;

-- Response times (快速反应): the first dispatch, acknowledgement, en route and arrival of any
-- cue of the incident, the grid (责任田) it happened in, and whether video helped solve it.
ALTER TABLE incidents ADD COLUMN dispatched_at timestamptz;
ALTER TABLE incidents ADD COLUMN acknowledged_at timestamptz;
ALTER TABLE incidents ADD COLUMN en_route_at timestamptz;
ALTER TABLE incidents ADD COLUMN arrived_at timestamptz;
ALTER TABLE incidents ADD COLUMN grid_unit_id uuid REFERENCES patrol_units(id) ON DELETE SET NULL;
ALTER TABLE incidents ADD COLUMN video_assisted boolean;
CREATE INDEX incidents_arrived_idx ON incidents (occurred_at, id) WHERE dispatched_at IS NOT NULL;

-- Alarms the linkage raises: a cue nobody acknowledged in time.
ALTER TABLE alarms DROP CONSTRAINT alarms_kind_check;
ALTER TABLE alarms ADD CONSTRAINT alarms_kind_check CHECK (kind IN ('device_offline','device_online','recording_gap','session_failed','face','plate','manual','cue_unacked'));
