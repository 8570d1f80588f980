import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import fp from 'fastify-plugin';
import fastifyStatic from '@fastify/static';
import type { App } from '../../core/http/app.ts';

export const WEB_DIST = join(dirname(fileURLToPath(import.meta.url)), '..', 'web', 'dist');

/** Newest modification time under the web app's sources. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules' || entry.name === '__tests__') continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Build the browser app with Vite when it was never built or its sources changed since (`npm start`, tests). */
export async function ensureWebBuilt(log: { info: (msg: string) => void }, force = false): Promise<void> {
  const index = join(WEB_DIST, 'index.html');
  if (!force && existsSync(index) && statSync(index).mtimeMs >= newestSource(dirname(WEB_DIST))) return;
  log.info('building the console web app…');
  const { build } = await import('vite');
  await build({ configFile: join(dirname(WEB_DIST), 'vite.config.ts'), logLevel: 'warn' });
}

/**
 * The browser app on the console's origin: built assets with long caching,
 * everything else that is not API falls back to index.html (client-side routes).
 */
export const webApp = fp(async (app: App) => {
  await app.register(fastifyStatic, { root: WEB_DIST, serve: false });
  app.get('/*', { config: { access: 'public' }, schema: { hide: true } }, async (req, reply) => {
    const path = normalize(decodeURIComponent((req.params as { '*': string })['*'] ?? '')).replace(/^(\.\.(\/|\\|$))+/, '');
    if (path.startsWith('api/') || path.startsWith('internal/')) {
      return reply.code(404).send({ error: 'not_found', message: `No route ${req.method} ${req.url.split('?')[0]}` });
    }
    if (path.startsWith('assets/') && existsSync(join(WEB_DIST, path))) {
      return reply.header('cache-control', 'public, max-age=31536000, immutable').sendFile(path);
    }
    if (path && !path.includes('/') && /\.(ico|png|svg|txt)$/.test(path) && existsSync(join(WEB_DIST, path))) return reply.sendFile(path);
    if (!existsSync(join(WEB_DIST, 'index.html'))) return reply.code(503).send({ error: 'unavailable', message: 'the web app is not built: run npm run build:web' });
    return reply.header('cache-control', 'no-cache').sendFile('index.html');
  });
}, { name: 'web-app', dependencies: ['identity-guard'] });
