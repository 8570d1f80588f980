import { Type, type Static } from 'typebox';

/**
 * The whole configuration, one validated object. Every field says in its
 * `description` what form it expects: that text is what a refusal prints.
 */
const Port = (d: number) => Type.Integer({ minimum: 0, maximum: 65535, default: d, description: 'a TCP port, an integer from 1 to 65535 (0: any free port)' });
const Seconds = (d: number, min = 1) => Type.Integer({ minimum: min, maximum: 86_400, default: d, description: `a whole number of seconds from ${min} to 86400` });

export const ConfigSchema = Type.Object({
  site: Type.Object({
    name: Type.String({ minLength: 1, default: '天网视频监控平台', description: 'a non-empty name' }),
    timezone: Type.String({ minLength: 1, default: 'Asia/Shanghai', description: 'an IANA time zone such as Asia/Shanghai' }),
    locale: Type.Union([Type.Literal('zh-CN'), Type.Literal('en')], { default: 'zh-CN', description: 'zh-CN or en' }),
  }, { default: {} }),
  dataDir: Type.String({ minLength: 1, default: './data', description: 'a directory path (media, keys)' }),
  database: Type.Object({
    url: Type.String({ pattern: '^postgres(ql)?://', default: 'postgres://postgres@127.0.0.1:5432/skynet', description: 'a postgres:// connection URL' }),
    poolSize: Type.Integer({ minimum: 1, maximum: 200, default: 10, description: 'an integer from 1 to 200' }),
  }, { default: {} }),
  redis: Type.Object({
    url: Type.String({ pattern: '^rediss?://', default: 'redis://127.0.0.1:6379', description: 'a redis:// URL' }),
    prefix: Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,64}$', default: 'skynet:', description: 'letters, digits and _.:- (1–64 characters)' }),
  }, { default: {} }),
  console: Type.Object({
    host: Type.String({ minLength: 1, default: '0.0.0.0', description: 'an address to listen on' }),
    port: Port(8080),
    sessionHours: Type.Integer({ minimum: 1, maximum: 720, default: 12, description: 'hours from 1 to 720' }),
    secureCookies: Type.Boolean({ default: false, description: 'true or false (true behind HTTPS)' }),
    /** The address people open the console at (behind a proxy or a name): its origin may send writes. */
    publicUrl: Type.Optional(Type.String({ pattern: '^https?://[^/?#]+', description: 'the http(s):// URL browsers use to reach the console' })),
    /** Further origins the web app is served from (another host name, a TLS front end). */
    allowedOrigins: Type.Array(Type.String({ pattern: '^https?://[^/?#]+/?$', description: 'an origin such as https://video.example.gov' }), {
      default: [], description: 'a list of origins such as https://video.example.gov (comma-separated in the environment)',
    }),
    /**
     * Whose X-Forwarded-For/-Proto/-Host to believe: false (no proxy, the default), true
     * (every hop: only when the proxy overwrites these headers), a hop count, or the
     * proxies' IPs/CIDRs as a comma list.
     */
    trustProxy: Type.Union([
      Type.Boolean(),
      Type.Integer({ minimum: 1, maximum: 10 }),
      Type.String({ pattern: '^[0-9A-Fa-f.:/]+(\\s*,\\s*[0-9A-Fa-f.:/]+)*$' }),
    ], { default: false, description: 'false, true, a hop count from 1 to 10, or a comma list of proxy IPs/CIDRs' }),
    /** Failed logins allowed per window; only failures count, a success clears the account+address window. */
    login: Type.Object({
      accountIpFailures: Type.Integer({ minimum: 1, maximum: 1000, default: 5, description: 'an integer from 1 to 1000' }),
      accountIpWindowSeconds: Seconds(60),
      ipFailures: Type.Integer({ minimum: 1, maximum: 100_000, default: 20, description: 'an integer from 1 to 100000' }),
      ipWindowSeconds: Seconds(600),
      accountFailures: Type.Integer({ minimum: 1, maximum: 100_000, default: 20, description: 'an integer from 1 to 100000' }),
      accountWindowSeconds: Seconds(900),
    }, { default: {} }),
  }, { default: {} }),
  gateway: Type.Object({
    host: Type.String({ minLength: 1, default: '0.0.0.0', description: 'an address to listen on' }),
    port: Port(8090),
    /** Defaults to http://127.0.0.1:<port>; set it to the address browsers reach this node at. */
    publicUrl: Type.Optional(Type.String({ pattern: '^https?://', description: 'the http(s):// URL browsers use to reach this gateway' })),
    /** The internal API (service token only: console → gateway) has its own listener, on the internal address. */
    internalHost: Type.String({ minLength: 1, default: '127.0.0.1', description: 'an address to listen on' }),
    internalPort: Port(8091),
    /** Defaults to http://127.0.0.1:<internalPort>; the address console processes reach this node's internal API at. */
    internalUrl: Type.Optional(Type.String({ pattern: '^https?://', description: 'the http(s):// URL the console uses to reach this gateway' })),
    nodeId: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$', default: 'gw-1', description: 'letters, digits and _.- (1–64 characters)' }),
    maxSessions: Type.Integer({ minimum: 1, maximum: 2000, default: 64, description: 'an integer from 1 to 2000' }),
    leaseSeconds: Seconds(30, 5),
    /** A live-only session with no viewer for this long stops. */
    idleStopSeconds: Seconds(30, 3),
    /** Below this much free space on the media disk, sessions degrade instead of writing. */
    minFreeMb: Type.Integer({ minimum: 0, maximum: 10_000_000, default: 500, description: 'megabytes from 0 to 10000000' }),
    /**
     * Transcoding sessions per node (a camera whose codec browsers cannot play at all: MJPEG, MPEG-4). Each costs
     * about a core at 1080p; H.264 and H.265 are always copied (a few per cent each).
     */
    maxTranscodes: Type.Integer({ minimum: 0, maximum: 256, default: 4, description: 'an integer from 0 to 256' }),
    /** A transcode's output is capped to this many lines and frames per second. */
    transcodeMaxHeight: Type.Integer({ minimum: 144, maximum: 2160, default: 720, description: 'an integer from 144 to 2160 (lines)' }),
    transcodeMaxFps: Type.Integer({ minimum: 1, maximum: 60, default: 15, description: 'an integer from 1 to 60' }),
  }, { default: {} }),
  ingest: Type.Object({
    rtmpHost: Type.String({ minLength: 1, default: '0.0.0.0', description: 'an address to listen on' }),
    rtmpPort: Port(1935),
  }, { default: {} }),
  health: Type.Object({
    intervalSeconds: Seconds(60, 5),
    concurrency: Type.Integer({ minimum: 1, maximum: 1000, default: 128, description: 'an integer from 1 to 1000' }),
    timeoutMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 3000, description: 'milliseconds from 100 to 60000' }),
  }, { default: {} }),
  /** The job workers (BullMQ): concurrency per queue, how they reach media, how they stop. */
  workers: Type.Object({
    concurrency: Type.Object({
      snapshot: Type.Integer({ minimum: 1, maximum: 64, default: 4, description: 'an integer from 1 to 64' }),
      export: Type.Integer({ minimum: 1, maximum: 16, default: 1, description: 'an integer from 1 to 16' }),
      retention: Type.Integer({ minimum: 1, maximum: 1, default: 1, description: '1 (retention runs one at a time)' }),
      maintenance: Type.Integer({ minimum: 1, maximum: 4, default: 1, description: 'an integer from 1 to 4' }),
    }, { default: {} }),
    /**
     * Read the gateway's media directory (<dataDir>/media) directly: only where this worker
     * shares that disk with the gateway (same machine, or a shared volume). Otherwise every
     * segment is fetched from the gateway node that holds it, through its internal API.
     */
    sharedMedia: Type.Boolean({ default: false, description: 'true or false (true only where the gateway\'s media directory is on this machine or a shared volume)' }),
    /** A job whose worker stops renewing its lock for this long (killed, frozen) goes back to the queue. */
    lockSeconds: Seconds(30, 5),
    /** On SIGTERM running jobs get this long to finish; what is still running then goes back to the queue. */
    drainSeconds: Seconds(8, 1),
  }, { default: {} }),
  /** Evidence: snapshots and export packages, and their limits. */
  evidence: Type.Object({
    /** Where snapshots and export packages are kept (defaults to <dataDir>/evidence); console and workers must both reach it. */
    dir: Type.Optional(Type.String({ minLength: 1, description: 'a directory path' })),
    /** The longest range one camera of an export may cover. */
    maxExportHours: Type.Integer({ minimum: 1, maximum: 168, default: 24, description: 'hours from 1 to 168' }),
    /** The most cameras one export may hold. */
    maxExportCameras: Type.Integer({ minimum: 1, maximum: 64, default: 16, description: 'an integer from 1 to 64' }),
    /** A snapshot request waits this long for a camera before saying it cannot be reached. */
    snapshotTimeoutMs: Type.Integer({ minimum: 500, maximum: 30_000, default: 2500, description: 'milliseconds from 500 to 30000' }),
    /** Export packages are deleted (and their holds released) this many days after they were made. */
    exportRetentionDays: Type.Integer({ minimum: 1, maximum: 3650, default: 90, description: 'days from 1 to 3650' }),
  }, { default: {} }),
  /** Retention: footage and snapshots past each camera's retentionDays, and whatever a full disk needs freed. */
  retention: Type.Object({
    intervalMinutes: Type.Integer({ minimum: 1, maximum: 1440, default: 60, description: 'minutes from 1 to 1440' }),
    /** Above this disk use (percent) the oldest unheld footage goes, until use is under lowWaterPercent. */
    highWaterPercent: Type.Integer({ minimum: 1, maximum: 99, default: 90, description: 'a percentage from 1 to 99' }),
    lowWaterPercent: Type.Integer({ minimum: 1, maximum: 98, default: 80, description: 'a percentage from 1 to 98, below highWaterPercent' }),
    /** Index rows (and their files) deleted per transaction. */
    batchSize: Type.Integer({ minimum: 10, maximum: 10_000, default: 1000, description: 'an integer from 10 to 10000' }),
  }, { default: {} }),
  /** Incidents (警情): how they are numbered, their type catalogue, the radius searches around them. */
  incidents: Type.Object({
    /** Numbers read <prefix><yyyymmdd><4-digit sequence>, the day in the site's time zone. */
    numberPrefix: Type.String({ pattern: '^[A-Za-z0-9]{1,12}$', default: 'JQ', description: 'letters and digits (1–12 characters)' }),
    /** The type catalogue: a code (stored) and its name in each language. Codes in use should never be removed. */
    types: Type.Array(Type.Object({
      code: Type.String({ pattern: '^[a-z0-9_]{1,40}$', description: 'lower-case letters, digits and _ (1–40 characters)' }),
      zh: Type.String({ minLength: 1, maxLength: 40, description: 'the Chinese name' }),
      en: Type.String({ minLength: 1, maxLength: 60, description: 'the English name' }),
    }), {
      minItems: 1,
      default: [
        { code: 'theft', zh: '盗窃', en: 'Theft' },
        { code: 'robbery', zh: '抢劫抢夺', en: 'Robbery' },
        { code: 'fight', zh: '打架斗殴', en: 'Fight' },
        { code: 'traffic', zh: '交通事故', en: 'Traffic accident' },
        { code: 'suspicious_person', zh: '可疑人员', en: 'Suspicious person' },
        { code: 'missing_person', zh: '人员走失', en: 'Missing person' },
        { code: 'fraud', zh: '诈骗', en: 'Fraud' },
        { code: 'disturbance', zh: '扰乱秩序', en: 'Public disturbance' },
        { code: 'fire', zh: '火灾', en: 'Fire' },
        { code: 'other', zh: '其他', en: 'Other' },
      ],
      description: 'a list of { code, zh, en }',
    }),
    /** "Cameras around the incident": the radius proposed first, and the most a search may ask. */
    nearbyRadiusMeters: Type.Integer({ minimum: 50, maximum: 50_000, default: 500, description: 'metres from 50 to 50000' }),
    maxRadiusMeters: Type.Integer({ minimum: 100, maximum: 50_000, default: 5000, description: 'metres from 100 to 50000' }),
  }, { default: {} }),
  /** Video search (视频检索) limits. */
  search: Type.Object({
    /** The longest time range one footage search may cover. */
    maxRangeDays: Type.Integer({ minimum: 1, maximum: 366, default: 31, description: 'days from 1 to 366' }),
    /** The most cameras one search answers with. */
    maxCameras: Type.Integer({ minimum: 1, maximum: 5000, default: 500, description: 'an integer from 1 to 5000' }),
  }, { default: {} }),
  /** The realtime channel (/api/events). */
  realtime: Type.Object({
    /** A socket that sends more messages than this per second is closed. */
    maxMessagesPerSecond: Type.Integer({ minimum: 1, maximum: 1000, default: 20, description: 'an integer from 1 to 1000' }),
    /** Events are kept this long for clients that reconnect with the last id they saw. */
    replayHours: Type.Integer({ minimum: 1, maximum: 720, default: 24, description: 'hours from 1 to 720' }),
  }, { default: {} }),
  /** Alarms raised by the platform itself. */
  alarms: Type.Object({
    /** A hole of at least this many seconds between two recording segments of a camera raises a recording-gap alarm. */
    recordingGapSeconds: Type.Integer({ minimum: 5, maximum: 86_400, default: 30, description: 'a whole number of seconds from 5 to 86400' }),
  }, { default: {} }),
  /** Monitor-patrol linkage (监巡联动): cues, GPS, rings and the rapid-response targets. */
  linkage: Type.Object({
    /** A cue not acknowledged (received) within this many seconds escalates: the monitor is alerted and the next unit proposed. */
    ackTimeoutSeconds: Type.Integer({ minimum: 10, maximum: 3600, default: 60, description: 'seconds from 10 to 3600' }),
    /** A unit's position older than this is shown greyed as stale, and the unit is not proposed first. */
    staleSeconds: Type.Integer({ minimum: 10, maximum: 86_400, default: 120, description: 'seconds from 10 to 86400' }),
    /** GPS tracks are kept this many days. */
    trackRetentionDays: Type.Integer({ minimum: 1, maximum: 3650, default: 90, description: 'days from 1 to 3650' }),
    /** The three rings (三圈) around an incident, innermost first: 管控圈, 防控圈, 封控圈. */
    ringRadiiMeters: Type.Tuple([
      Type.Integer({ minimum: 100, maximum: 50_000 }), Type.Integer({ minimum: 100, maximum: 50_000 }), Type.Integer({ minimum: 100, maximum: 50_000 }),
    ], { default: [1000, 3000, 5000], description: 'three increasing radii in metres (100–50000), e.g. [1000, 3000, 5000]' }),
    /** The rapid-response targets (快速反应圈) arrival times are measured against, in seconds. */
    responseTargetsSeconds: Type.Tuple([Type.Integer({ minimum: 10 }), Type.Integer({ minimum: 10 }), Type.Integer({ minimum: 10 })], {
      default: [60, 180, 300], description: 'three increasing times in seconds, e.g. [60, 180, 300]',
    }),
    /** The most GPS fixes one unit may send per second (a flood beyond it is answered 429, nothing stored twice). */
    maxFixesPerSecond: Type.Integer({ minimum: 1, maximum: 100, default: 5, description: 'an integer from 1 to 100' }),
    /** An optional road-routing service (OSRM-compatible /route/v1/driving) for ETAs; empty: straight-line distance only. */
    routingUrl: Type.String({ default: '', pattern: '^$|^https?://', description: 'an http(s):// OSRM base URL, or empty' }),
  }, { default: {} }),
  /** The map: police networks run their own tile servers; with none set the map draws the site's own base layer. */
  map: Type.Object({
    /** A Leaflet tile URL template such as http://tiles.gov.local/{z}/{x}/{y}.png; empty: the offline base layer. */
    tileUrl: Type.String({ default: '', pattern: '^$|^https?://', description: 'an http(s):// tile URL template with {z}/{x}/{y}, or empty' }),
    attribution: Type.String({ default: '', maxLength: 200, description: 'the text shown for the tiles (up to 200 characters)' }),
    maxZoom: Type.Integer({ minimum: 1, maximum: 22, default: 18, description: 'an integer from 1 to 22' }),
  }, { default: {} }),
  secrets: Type.Object({
    key: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9+/]{43}=$', description: '32 bytes in base64 (openssl rand -base64 32)' })),
    serviceToken: Type.Optional(Type.String({ minLength: 32, description: 'a random string of at least 32 characters' })),
    /** The Ed25519 key that signs evidence manifests (PKCS#8 PEM, base64 of the DER also taken); defaults to <dataDir>/signing.key, created on first use. */
    signingKey: Type.Optional(Type.String({ minLength: 40, description: 'an Ed25519 private key: PKCS#8 PEM, or its DER in base64' })),
  }, { default: {} }),
  admin: Type.Object({
    password: Type.Optional(Type.String({ minLength: 8, description: 'at least 8 characters' })),
  }, { default: {} }),
  demo: Type.Union([Type.Literal('auto'), Type.Boolean()], { default: 'auto', description: 'auto, true or false' }),
  simulator: Type.Object({
    host: Type.String({ minLength: 1, default: '127.0.0.1', description: 'an address to listen on' }),
    basePort: Port(18000),
    liveCameras: Type.Integer({ minimum: 0, maximum: 64, default: 12, description: 'an integer from 0 to 64' }),
  }, { default: {} }),
});

export type Config = Static<typeof ConfigSchema>;

/** Environment variables and the path each one sets. */
export const ENV_MAP: Record<string, string> = {
  SKYNET_SITE_NAME: 'site.name',
  SKYNET_TIMEZONE: 'site.timezone',
  SKYNET_LOCALE: 'site.locale',
  SKYNET_DATA_DIR: 'dataDir',
  SKYNET_DATABASE_URL: 'database.url',
  SKYNET_DATABASE_POOL: 'database.poolSize',
  SKYNET_REDIS_URL: 'redis.url',
  SKYNET_REDIS_PREFIX: 'redis.prefix',
  SKYNET_CONSOLE_HOST: 'console.host',
  SKYNET_CONSOLE_PORT: 'console.port',
  SKYNET_SESSION_HOURS: 'console.sessionHours',
  SKYNET_SECURE_COOKIES: 'console.secureCookies',
  SKYNET_CONSOLE_PUBLIC_URL: 'console.publicUrl',
  SKYNET_ALLOWED_ORIGINS: 'console.allowedOrigins',
  SKYNET_TRUST_PROXY: 'console.trustProxy',
  SKYNET_LOGIN_ATTEMPTS_PER_MINUTE: 'console.login.accountIpFailures',
  SKYNET_LOGIN_IP_FAILURES: 'console.login.ipFailures',
  SKYNET_LOGIN_ACCOUNT_FAILURES: 'console.login.accountFailures',
  SKYNET_GATEWAY_HOST: 'gateway.host',
  SKYNET_GATEWAY_PORT: 'gateway.port',
  SKYNET_GATEWAY_PUBLIC_URL: 'gateway.publicUrl',
  SKYNET_GATEWAY_INTERNAL_HOST: 'gateway.internalHost',
  SKYNET_GATEWAY_INTERNAL_PORT: 'gateway.internalPort',
  SKYNET_GATEWAY_INTERNAL_URL: 'gateway.internalUrl',
  SKYNET_GATEWAY_NODE_ID: 'gateway.nodeId',
  SKYNET_GATEWAY_MAX_SESSIONS: 'gateway.maxSessions',
  SKYNET_GATEWAY_LEASE_SECONDS: 'gateway.leaseSeconds',
  SKYNET_GATEWAY_IDLE_STOP_SECONDS: 'gateway.idleStopSeconds',
  SKYNET_GATEWAY_MIN_FREE_MB: 'gateway.minFreeMb',
  SKYNET_GATEWAY_MAX_TRANSCODES: 'gateway.maxTranscodes',
  SKYNET_GATEWAY_TRANSCODE_MAX_HEIGHT: 'gateway.transcodeMaxHeight',
  SKYNET_GATEWAY_TRANSCODE_MAX_FPS: 'gateway.transcodeMaxFps',
  SKYNET_RTMP_HOST: 'ingest.rtmpHost',
  SKYNET_RTMP_PORT: 'ingest.rtmpPort',
  SKYNET_HEALTH_INTERVAL_SECONDS: 'health.intervalSeconds',
  SKYNET_HEALTH_CONCURRENCY: 'health.concurrency',
  SKYNET_HEALTH_TIMEOUT_MS: 'health.timeoutMs',
  SKYNET_WORKERS_SHARED_MEDIA: 'workers.sharedMedia',
  SKYNET_WORKERS_LOCK_SECONDS: 'workers.lockSeconds',
  SKYNET_WORKERS_DRAIN_SECONDS: 'workers.drainSeconds',
  SKYNET_SNAPSHOT_CONCURRENCY: 'workers.concurrency.snapshot',
  SKYNET_EXPORT_CONCURRENCY: 'workers.concurrency.export',
  SKYNET_EVIDENCE_DIR: 'evidence.dir',
  SKYNET_MAX_EXPORT_HOURS: 'evidence.maxExportHours',
  SKYNET_EXPORT_RETENTION_DAYS: 'evidence.exportRetentionDays',
  SKYNET_RETENTION_INTERVAL_MINUTES: 'retention.intervalMinutes',
  SKYNET_RETENTION_HIGH_WATER: 'retention.highWaterPercent',
  SKYNET_RETENTION_LOW_WATER: 'retention.lowWaterPercent',
  SKYNET_INCIDENT_PREFIX: 'incidents.numberPrefix',
  SKYNET_NEARBY_RADIUS_METERS: 'incidents.nearbyRadiusMeters',
  SKYNET_MAX_RADIUS_METERS: 'incidents.maxRadiusMeters',
  SKYNET_SEARCH_MAX_DAYS: 'search.maxRangeDays',
  SKYNET_REALTIME_MAX_MESSAGES_PER_SECOND: 'realtime.maxMessagesPerSecond',
  SKYNET_RECORDING_GAP_SECONDS: 'alarms.recordingGapSeconds',
  SKYNET_MAP_TILE_URL: 'map.tileUrl',
  SKYNET_CUE_ACK_TIMEOUT_SECONDS: 'linkage.ackTimeoutSeconds',
  SKYNET_ROUTING_URL: 'linkage.routingUrl',
  SKYNET_MAP_ATTRIBUTION: 'map.attribution',
  SKYNET_SECRET_KEY: 'secrets.key',
  SKYNET_SERVICE_TOKEN: 'secrets.serviceToken',
  SKYNET_SIGNING_KEY: 'secrets.signingKey',
  SKYNET_ADMIN_PASSWORD: 'admin.password',
  SKYNET_DEMO: 'demo',
  SKYNET_SIMULATOR_HOST: 'simulator.host',
  SKYNET_SIMULATOR_BASE_PORT: 'simulator.basePort',
  SKYNET_SIMULATOR_LIVE_CAMERAS: 'simulator.liveCameras',
};
