-- Deleting a device decommissions it (gateway/devices): the row stays, so its recordings stay
-- indexed, searchable and playable until their retention ends, and nothing the gateway writes
-- about it afterwards (a last segment, a session's "stopped" event) breaks a foreign key.
-- A decommissioned device leaves the device list, the gateway's leases, health and sessions,
-- and its code can be given to a new device.
ALTER TABLE devices ADD COLUMN decommissioned_at timestamptz;

ALTER TABLE devices DROP CONSTRAINT devices_code_key;
CREATE UNIQUE INDEX devices_code_key ON devices (code) WHERE decommissioned_at IS NULL;

-- What a duplicate check looks up when a device is registered (ONVIF endpoint, serial, stream URLs).
CREATE INDEX devices_onvif_endpoint_idx ON devices (lower(onvif_host), onvif_port) WHERE decommissioned_at IS NULL AND onvif_host IS NOT NULL;
CREATE INDEX devices_serial_idx ON devices (serial) WHERE decommissioned_at IS NULL AND serial IS NOT NULL;
CREATE INDEX devices_rtsp_main_idx ON devices (rtsp_main) WHERE decommissioned_at IS NULL AND rtsp_main IS NOT NULL;
CREATE INDEX devices_rtsp_sub_idx ON devices (rtsp_sub) WHERE decommissioned_at IS NULL AND rtsp_sub IS NOT NULL;

-- Names in zh-CN sort by pinyin (ICU's CLDR pinyin order, the order Intl.Collator('zh-CN') gives
-- in the browser), not by code point. PostgreSQL built without ICU gets a copy of "C" instead,
-- so the queries that name the collation still run.
DO $$
BEGIN
  BEGIN
    CREATE COLLATION IF NOT EXISTS skynet_zh (provider = icu, locale = 'zh-u-co-pinyin');
  EXCEPTION WHEN feature_not_supported OR invalid_parameter_value OR undefined_object THEN
    RAISE NOTICE 'ICU collations unavailable: device names in zh-CN sort by code point';
    CREATE COLLATION IF NOT EXISTS skynet_zh FROM "C";
  END;
END $$;

CREATE INDEX devices_name_zh_idx ON devices ((name COLLATE skynet_zh), id) WHERE decommissioned_at IS NULL;
