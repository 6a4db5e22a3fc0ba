import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './exec.ts';

/** A throwaway OpenPGP signing key in its own GNUPGHOME. */
export interface SigningKey {
  fingerprint: string;
  /** Binary public keyring (like Debian's `.gpg` keyrings). */
  publicKeyPath: string;
  /** The same public key, ASCII-armored. */
  armoredPublicKeyPath: string;
  /** Write `<file>` → `out` as a clearsigned message (InRelease). */
  clearsign(file: string, out: string): Promise<void>;
  /** Write an armored detached signature of `file` to `out` (Release.gpg, repomd.xml.asc). */
  detachSign(file: string, out: string): Promise<void>;
  /** Stop this key's gpg-agent and remove its GNUPGHOME. */
  dispose(): Promise<void>;
}

/** Generate an ed25519 signing key with `gpg --batch --quick-gen-key` in a fresh temp GNUPGHOME. */
export async function createSigningKey(
  uid = 'btfwatch test archive <test-archive@btfwatch.invalid>',
): Promise<SigningKey> {
  // Short path: gpg-agent's socket path must fit in sockaddr_un.
  const home = await mkdtemp(join(tmpdir(), 'bwgpg-'));
  const env = { ...process.env, GNUPGHOME: home };
  const gpg = (args: string[], input?: string): Promise<Buffer> =>
    run(
      'gpg',
      ['--homedir', home, '--batch', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', '', ...args],
      {
        env,
        ...(input === undefined ? {} : { input }),
      },
    );
  await gpg(['--quick-gen-key', uid, 'ed25519', 'sign', 'never']);
  const listing = (await gpg(['--with-colons', '--list-keys'])).toString();
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(listing)?.[1];
  if (!fpr) throw new Error(`no fingerprint in gpg output: ${listing}`);
  const publicKeyPath = join(home, 'archive-keyring.gpg');
  const armoredPublicKeyPath = join(home, 'archive-keyring.asc');
  await writeFile(publicKeyPath, await gpg(['--export', fpr]));
  await writeFile(armoredPublicKeyPath, await gpg(['--export', '--armor', fpr]));
  return {
    fingerprint: fpr,
    publicKeyPath,
    armoredPublicKeyPath,
    async clearsign(file, out) {
      await gpg([
        '--yes',
        '--local-user',
        fpr,
        '--digest-algo',
        'SHA256',
        '--clearsign',
        '--output',
        out,
        file,
      ]);
    },
    async detachSign(file, out) {
      await gpg([
        '--yes',
        '--local-user',
        fpr,
        '--digest-algo',
        'SHA256',
        '--armor',
        '--detach-sign',
        '--output',
        out,
        file,
      ]);
    },
    async dispose() {
      await run('gpgconf', ['--homedir', home, '--kill', 'gpg-agent'], { env }).catch(() => undefined);
      await rm(home, { recursive: true, force: true });
    },
  };
}

/** Read a key file for tests that pass bytes rather than a path. */
export function readKey(path: string): Promise<Buffer> {
  return readFile(path);
}
