import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IdentityService } from './service.ts';

/**
 * On first start (no users at all) create `admin`: with SKYNET_ADMIN_PASSWORD
 * when given, otherwise a generated password written once to
 * `<dataDir>/initial-admin-password` (0600) and printed by the CLI.
 */
export async function ensureFirstAdmin(identity: IdentityService, opts: { password?: string; dataDir: string }): Promise<{ created: false } | { created: true; username: string; password: string; generated: boolean; file?: string }> {
  if ((await identity.countUsers()) > 0) return { created: false };
  const generated = !opts.password;
  const password = opts.password ?? randomBytes(12).toString('base64url');
  try {
    await identity.createUser({ username: 'admin', password, displayName: '系统管理员', roles: ['admin'] });
  } catch (err) {
    // Another process created it in the same moment.
    if ((err as { statusCode?: number }).statusCode === 409) return { created: false };
    throw err;
  }
  let file: string | undefined;
  if (generated) {
    mkdirSync(opts.dataDir, { recursive: true });
    file = join(opts.dataDir, 'initial-admin-password');
    writeFileSync(file, password + '\n', { mode: 0o600 });
  }
  return { created: true, username: 'admin', password, generated, file };
}
