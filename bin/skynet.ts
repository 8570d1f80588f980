import { parseArgs } from 'node:util';
import { loadConfig, ConfigError } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { ensureDatabase, migrate } from '../core/db/migrate.ts';
import { createPool, unreachableMessage } from '../core/db/pool.ts';
import { ensureFirstAdmin } from '../core/identity/bootstrap.ts';
import { ROLES, type Role } from '../core/identity/types.ts';
import type { Logger } from '../core/log.ts';
import { createPlatform, StartupError, type Platform } from '../core/platform.ts';
import { startConsole } from '../console/server/main.ts';
import { ensureWebBuilt } from '../console/server/web.ts';
import { startGateway } from '../gateway/main.ts';
import { parseQueues, startWorkers } from '../workers/main.ts';
import { startDemo } from './demo.ts';
import { processLogging, shownPath, type LogSettings } from './logging.ts';
import { createShutdown } from './shutdown.ts';

const USAGE = `skynet — video surveillance management platform

usage: skynet <command> [options]

  up                  migrate, then run gateway + workers + console on this node
                      (with no site configured: the demo site and simulated cameras)
  gateway             run a gateway node (devices, health, ONVIF, media)
  workers             run the job workers (every queue, or --queues snapshot,export)
  console             run the console (API + web app)
  migrate             create the database if missing and apply migrations
  simulate            run simulated ONVIF/RTSP cameras
                        --cameras N (default 4)  --base-port P (default 18000)  --host H
  user add NAME       add a user
                        --roles admin,monitor (required)  --password P (or SKYNET_NEW_PASSWORD;
                        generated and printed when absent)  --display-name "…"
  verify FILE.zip     check an evidence package offline: the manifest's Ed25519 signature and
                      the SHA-256 of every file; --key PUBLIC.pem (else the key it carries)
  keys rotate-media   sign media tokens with a new key id from now on (old tokens keep
                      working for their 30-minute life); no restart needed

Configuration: environment variables SKYNET_* and an optional skynet.yaml (see README).
Logs: warnings and errors on the terminal, everything in data/logs/skynet.log;
      SKYNET_LOG_FORMAT=json (production) writes JSON lines to standard output.`;

async function migrateDatabase(config: Config, log: Logger): Promise<string[]> {
  try {
    const created = await ensureDatabase(config.database.url);
    if (created) log.info({ database: new URL(config.database.url).pathname.slice(1) }, 'created the database');
  } catch (err) {
    if ((err as { code?: string }).code === 'ECONNREFUSED' || (err as { code?: string }).code === 'ENOTFOUND' || (err as Error).message.includes('timeout')) {
      throw new StartupError(unreachableMessage(config.database.url, err));
    }
    throw err;
  }
  const pool = createPool(config.database.url, 2);
  try {
    const applied = await migrate(pool);
    for (const m of applied) log.info({ migration: m.name }, 'applied migration');
    return applied.map((m) => m.name);
  } finally {
    await pool.end();
  }
}

type Admin = Awaited<ReturnType<typeof ensureFirstAdmin>>;

/**
 * What a person needs once everything is ready, printed last so no log line buries it.
 * With JSON logs (a collector reads standard output) a generated password is not
 * printed: it is in its file.
 */
function printBanner(config: Config, logs: LogSettings, logFile: string | null, admin: Admin, demo: { cameras: number; patrol?: { password: string | null; file: string | null } } | null, what = 'Skynet'): void {
  const consoleUrl = `http://127.0.0.1:${config.console.port}`;
  const lines = [
    '',
    `  ${what} is running — ${config.site.name}`,
    `  Console:   ${consoleUrl}/            (API docs: ${consoleUrl}/docs)`,
  ];
  if (what === 'Skynet') lines.push(`  Gateway:   ${config.gateway.publicUrl ?? `http://127.0.0.1:${config.gateway.port}`}`);
  if (admin.created) {
    const shown = admin.generated && !(logs.format === 'json' && admin.file);
    lines.push(`  Login:     ${admin.username} / ${shown ? admin.password : admin.generated ? '(generated)' : '(the password in SKYNET_ADMIN_PASSWORD)'}`);
    if (admin.file) lines.push(`             (${shown ? 'also ' : ''}saved in ${shownPath(admin.file)}; change it after the first login)`);
  } else lines.push('  Login:     with your existing account (first admin: user "admin")');
  if (demo) lines.push(`  Demo site: ${demo.cameras} simulated cameras live; the rest of the registry is offline on purpose`);
  if (demo?.patrol?.file) {
    const shown = logs.format === 'text' && demo.patrol.password;
    lines.push(`  Patrol:    patrol01 … patrol04 / ${shown ? demo.patrol.password : '(generated)'}  (the phone view: ${consoleUrl}/patrol; saved in ${shownPath(demo.patrol.file)})`);
  }
  if (logFile) lines.push(`  Log:       ${shownPath(logFile)}${logs.format === 'text' ? ' (warnings and errors also here)' : ''}`);
  lines.push('  Stop:      Ctrl-C', '');
  process.stdout.write(lines.join('\n') + '\n');
}

/** The one line a process started by hand prints once it is ready (text logs only: JSON readers have the log line). */
function printReady(logs: LogSettings, logFile: string | null, line: string): void {
  if (logs.format === 'text') process.stdout.write(`${line}${logFile ? `  (log: ${shownPath(logFile)})` : ''}\n`);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const config = loadConfig();
  const { settings: logs, log, file: logFile } = processLogging(config);
  const shutdown = createShutdown(log, 10_000, (line) => { if (logs.format === 'text') process.stdout.write(`${line}\n`); });
  const platformFor = (c: Config): Promise<Platform> => createPlatform(c, log);

  switch (command) {
    case 'migrate': {
      const applied = await migrateDatabase(config, log);
      log.info('database is up to date');
      printReady(logs, logFile, `database is up to date${applied.length ? ` (applied ${applied.join(', ')})` : ''}`);
      return;
    }
    case 'up': {
      if (logs.format === 'text') process.stdout.write(`Starting Skynet — ${config.site.name}…${logFile ? ` (log: ${shownPath(logFile)})` : ''}\n`);
      await migrateDatabase(config, log);
      const platform = await platformFor(config);
      shutdown.add('platform', () => platform.close());
      const admin = await ensureFirstAdmin(platform.identity, { password: config.admin.password, dataDir: config.dataDir });
      const demo = await startDemo(platform);
      if (demo) shutdown.add('simulator', () => demo.close());
      await ensureWebBuilt(log);
      const gateway = await startGateway(platform);
      shutdown.add('gateway', () => gateway.close());
      const workers = await startWorkers(platform);
      shutdown.add('workers', () => workers.close());
      const consoleApp = await startConsole(platform);
      shutdown.add('console', () => consoleApp.close());
      log.info({ console: config.console.port, gateway: config.gateway.port, demo: Boolean(demo) }, 'skynet is running');
      printBanner(config, logs, logFile, admin, demo ? { cameras: demo.cameras, patrol: demo.patrol } : null);
      return;
    }
    case 'gateway': {
      const platform = await platformFor(config);
      shutdown.add('platform', () => platform.close());
      const gateway = await startGateway(platform);
      shutdown.add('gateway', () => gateway.close());
      log.info({ nodeId: config.gateway.nodeId, port: config.gateway.port }, 'gateway is running');
      printReady(logs, logFile, `Skynet gateway ${config.gateway.nodeId} is running — ${config.gateway.publicUrl ?? `http://127.0.0.1:${config.gateway.port}`}. Stop: Ctrl-C`);
      return;
    }
    case 'workers': {
      let queues;
      try {
        const { values } = parseArgs({ args: rest, options: { queues: { type: 'string' } }, strict: true });
        queues = parseQueues(values.queues);
      } catch (err) {
        throw new StartupError((err as Error).message);
      }
      const platform = await platformFor(config);
      shutdown.add('platform', () => platform.close());
      const workers = await startWorkers(platform, { queues });
      shutdown.add('workers', () => workers.close());
      log.info('workers are running');
      printReady(logs, logFile, `Skynet workers are running (queues: ${workers.queues.join(', ')}). Stop: Ctrl-C`);
      return;
    }
    case 'console': {
      const platform = await platformFor(config);
      shutdown.add('platform', () => platform.close());
      const admin = await ensureFirstAdmin(platform.identity, { password: config.admin.password, dataDir: config.dataDir });
      await ensureWebBuilt(log);
      const app = await startConsole(platform);
      shutdown.add('console', () => app.close());
      log.info({ port: config.console.port }, 'console is running');
      if (admin.created || logs.format === 'text') printBanner(config, logs, logFile, admin, null, 'The Skynet console');
      return;
    }
    case 'simulate': {
      const { values } = parseArgs({ args: rest, options: { cameras: { type: 'string', default: '4' }, 'base-port': { type: 'string' }, host: { type: 'string' } } });
      const cameras = Number(values.cameras);
      if (!Number.isInteger(cameras) || cameras < 1 || cameras > 256) throw new StartupError(`--cameras must be an integer from 1 to 256 (got "${values.cameras}")`);
      const basePort = values['base-port'] !== undefined ? Number(values['base-port']) : config.simulator.basePort;
      if (!Number.isInteger(basePort) || basePort < 1024 || basePort + cameras * 2 > 65535) throw new StartupError(`--base-port must be an integer from 1024 leaving room for 2 ports per camera (got "${values['base-port']}")`);
      const { startSimulator } = await import('../gateway/simulator/simulator.ts');
      const sim = await startSimulator({ cameras, basePort, host: values.host ?? config.simulator.host, discovery: true, timezone: config.site.timezone });
      shutdown.add('simulator', () => sim.close());
      for (const cam of sim.cameras) {
        process.stdout.write(`${cam.spec.id}  ${cam.spec.name}  onvif=${cam.onvifUri()}  rtsp=${cam.rtspUri('main')}  user=${cam.spec.username} password=${cam.spec.password}${cam.spec.ptz ? '  PTZ' : ''}\n`);
      }
      process.stdout.write(`WS-Discovery: multicast 239.255.255.250:3702${sim.discoveryPort ? `, unicast udp port ${sim.discoveryPort}` : ''}. Ctrl-C stops.\n`);
      return;
    }
    case 'user': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { roles: { type: 'string' }, password: { type: 'string' }, 'display-name': { type: 'string' } } });
      if (positionals[0] !== 'add' || !positionals[1]) throw new StartupError('usage: skynet user add NAME --roles admin,monitor [--password P] [--display-name N]');
      const roles = (values.roles ?? '').split(',').map((r) => r.trim()).filter(Boolean) as Role[];
      const bad = roles.find((r) => !ROLES.includes(r));
      if (!roles.length || bad) throw new StartupError(`--roles must list some of ${ROLES.join(', ')}${bad ? ` (got "${bad}")` : ''}`);
      const generated = !values.password && !process.env.SKYNET_NEW_PASSWORD;
      const password = values.password ?? process.env.SKYNET_NEW_PASSWORD ?? (await import('node:crypto')).randomBytes(12).toString('base64url');
      const platform = await platformFor(config);
      try {
        const user = await platform.identity.createUser({ username: positionals[1], password, roles, displayName: values['display-name'] });
        await platform.audit.record({ actor: { kind: 'system', userId: null, username: 'cli' }, action: 'user.create', targetType: 'user', targetId: user.id, details: { username: user.username, roles } });
        process.stdout.write(`created user ${user.username} (${roles.join(', ')})${generated ? ` with password ${password}` : ''}\n`);
      } catch (err) {
        const e = err as { field?: string; message: string; statusCode?: number };
        if (e.statusCode) throw new StartupError(`${e.field ? `--${e.field === 'username' ? 'NAME' : e.field}: ` : ''}${e.message}`);
        throw err;
      } finally {
        await platform.close();
      }
      return;
    }
    case 'keys': {
      if (rest[0] !== 'rotate-media' || rest.length > 1) throw new StartupError('usage: skynet keys rotate-media');
      const platform = await platformFor(config);
      try {
        const rotated = await platform.mediaKeys.rotate({ kind: 'system', userId: null, username: 'cli' });
        process.stdout.write(`media tokens are now signed with key id ${rotated.kid}; tokens of ${rotated.retired.join(', ') || 'no earlier key'} keep working for ${rotated.graceSeconds / 60} minutes. Running gateways and consoles pick it up within seconds.\n`);
      } finally {
        await platform.close();
      }
      return;
    }
    default:
      throw new StartupError(`unknown command "${command}"\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof StartupError) {
    process.stderr.write(`skynet: ${err.message}\n`);
  } else {
    process.stderr.write(`skynet: ${(err as Error).stack ?? String(err)}\n`);
  }
  process.exit(1);
});
