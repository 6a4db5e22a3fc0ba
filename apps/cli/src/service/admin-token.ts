import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The admin token of an embedded service started without BTFWATCH_ADMIN_TOKEN: made once into DATA_DIR/admin-token
 * (mode 0600, readable only by the user running btfwatch) and reused on every start, so a first user can add a
 * mirror at once. A token file rather than "loopback may administer": anything on the machine, a browser page
 * included, can reach loopback, but only this user can read the file.
 */
export function embeddedAdminToken(dataDir: string): { token: string; path: string; created: boolean } {
  const path = join(dataDir, 'admin-token');
  try {
    const token = readFileSync(path, 'utf8').trim();
    if (token.length >= 16) return { token, path, created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dataDir, { recursive: true });
  const token = randomBytes(24).toString('base64url');
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  return { token, path, created: true };
}
