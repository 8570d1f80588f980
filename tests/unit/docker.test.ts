import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// No container engine runs on this machine kind: these checks are what can be
// proved here — the compose file parses into the platform's services, and the
// Dockerfile runs the same commands as the README.
describe('docker', () => {
  const compose = parse(readFileSync('docker/compose.yml', 'utf8'), { merge: true });
  const dockerfile = readFileSync('docker/Dockerfile', 'utf8');
  const pkg = JSON.parse(readFileSync('package.json', 'utf8'));

  it('compose runs PostgreSQL, Redis, a one-shot migration and the three processes', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['console', 'gateway', 'migrate', 'postgres', 'redis', 'workers']);
    expect(compose.services.gateway.command).toEqual(['gateway']);
    expect(compose.services.workers.command).toEqual(['workers']);
    expect(compose.services.console.command).toEqual(['console']);
    expect(compose.services.migrate.command).toEqual(['migrate']);
    expect(compose.services.console.environment.SKYNET_DATABASE_URL).toMatch(/^postgres:\/\/.*@postgres:5432\//);
    expect(compose.services.gateway.depends_on.migrate.condition).toBe('service_completed_successfully');
    // Workers share the data volume with the gateway, so they may read its media directory.
    expect(compose.services.workers.volumes).toEqual(compose.services.gateway.volumes);
    expect(compose.services.workers.environment.SKYNET_WORKERS_SHARED_MEDIA).toBe('true');
    expect(compose.services.workers.environment.SKYNET_DATABASE_URL).toBe(compose.services.console.environment.SKYNET_DATABASE_URL);
  });

  it('the image installs Debian ffmpeg, builds the web app with the npm scripts, and runs as non-root', () => {
    expect(dockerfile).toMatch(/apt-get install[^\n]*ffmpeg/);
    expect(dockerfile).toContain('npm install');
    expect(dockerfile).toContain('npm run build:web');
    expect(pkg.scripts['build:web']).toBeDefined();
    expect(dockerfile).toMatch(/^USER skynet$/m);
    expect(dockerfile).toContain('"node", "bin/skynet.js"');
  });
});
