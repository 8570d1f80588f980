-- The device registry (gateway/devices) and what the gateway nodes hold of it.
CREATE TABLE sites (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  code       text NOT NULL UNIQUE,
  name       text NOT NULL,
  kind       text NOT NULL DEFAULT 'platform' CHECK (kind IN ('platform','area','station')),
  parent_id  uuid REFERENCES sites(id) ON DELETE SET NULL,
  lat        double precision,
  lon        double precision,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE devices (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  kind            text NOT NULL CHECK (kind IN ('camera','checkpoint','mobile')),
  camera_type     text CHECK (camera_type IN ('fixed','ptz','face')),
  name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  code            text UNIQUE,
  site_id         uuid REFERENCES sites(id) ON DELETE SET NULL,
  address         text,
  lat             double precision CHECK (lat BETWEEN -90 AND 90),
  lon             double precision CHECK (lon BETWEEN -180 AND 180),
  heading         double precision CHECK (heading >= 0 AND heading < 360),
  tags            text[] NOT NULL DEFAULT '{}',
  onvif_host      text,
  onvif_port      integer CHECK (onvif_port BETWEEN 1 AND 65535),
  username        text,
  -- AES-256-GCM secret box (core/crypto.ts); never selected into an API response.
  password_enc    bytea,
  rtsp_main       text,
  rtsp_sub        text,
  snapshot_uri    text,
  profiles        jsonb NOT NULL DEFAULT '[]'::jsonb,
  vendor          text,
  model           text,
  serial          text,
  firmware        text,
  ptz             boolean NOT NULL DEFAULT false,
  recording_mode  text NOT NULL DEFAULT 'none' CHECK (recording_mode IN ('none','continuous','event')),
  retention_days  integer NOT NULL DEFAULT 30 CHECK (retention_days BETWEEN 1 AND 3650),
  stream_key      text UNIQUE,
  enabled         boolean NOT NULL DEFAULT true,
  status          text NOT NULL DEFAULT 'unknown' CHECK (status IN ('unknown','online','offline','degraded')),
  status_reason   text,
  last_seen_at    timestamptz,
  checked_at      timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX devices_name_idx ON devices (lower(name), id);
CREATE INDEX devices_kind_idx ON devices (kind, camera_type);
CREATE INDEX devices_site_idx ON devices (site_id);
CREATE INDEX devices_status_idx ON devices (status);
CREATE INDEX devices_tags_idx ON devices USING gin (tags);

-- Status changes, newest first per device: why a camera went offline and when it came back.
CREATE TABLE device_status_events (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  device_id  uuid NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
  at         timestamptz NOT NULL DEFAULT now(),
  status     text NOT NULL,
  reason     text
);
CREATE INDEX device_status_events_idx ON device_status_events (device_id, at DESC);

-- Registry changes reach every gateway node at once (LISTEN skynet_devices).
CREATE FUNCTION devices_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW IS NOT DISTINCT FROM OLD THEN RETURN NULL; END IF;
  -- Status writes come from the health prober itself: no reconcile needed.
  IF TG_OP = 'UPDATE' AND (NEW.status, NEW.status_reason, NEW.last_seen_at, NEW.checked_at) IS DISTINCT FROM (OLD.status, OLD.status_reason, OLD.last_seen_at, OLD.checked_at)
     AND (to_jsonb(NEW) - ARRAY['status','status_reason','last_seen_at','checked_at']) = (to_jsonb(OLD) - ARRAY['status','status_reason','last_seen_at','checked_at']) THEN
    RETURN NULL;
  END IF;
  PERFORM pg_notify('skynet_devices', json_build_object('op', lower(TG_OP), 'id', COALESCE(NEW.id, OLD.id))::text);
  RETURN NULL;
END $$;
CREATE TRIGGER devices_notify AFTER INSERT OR UPDATE OR DELETE ON devices
  FOR EACH ROW EXECUTE FUNCTION devices_notify();

-- Gateway nodes and the devices each holds. A node that stops renewing loses its leases.
CREATE TABLE gateway_nodes (
  id           text PRIMARY KEY,
  internal_url text NOT NULL,
  public_url   text NOT NULL,
  max_sessions integer NOT NULL,
  started_at   timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE device_leases (
  device_id  uuid PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
  node_id    text NOT NULL REFERENCES gateway_nodes(id) ON DELETE CASCADE,
  expires_at timestamptz NOT NULL
);
CREATE INDEX device_leases_node_idx ON device_leases (node_id);
