import { readFile } from 'node:fs/promises';
import { armor, enums, readKeys, type PublicKey } from 'openpgp';
import { MirrorConfigError } from './errors.ts';

/** Debian's archive keyring as installed by the `debian-archive-keyring` package; read at run time. */
export const DEBIAN_ARCHIVE_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/**
 * Where trusted keys come from: a file path (binary keyring such as Debian's `.gpg`, or an armored `.asc`),
 * the bytes or text of one, or already parsed openpgp keys.
 */
export type KeySource = string | Uint8Array | PublicKey;

/** A set of public keys that signatures are checked against. */
export interface Keyring {
  readonly keys: readonly PublicKey[];
  /** Upper-case hex fingerprints of the primary keys, for reports. */
  readonly fingerprints: readonly string[];
}

const ARMOR_HEADER = '-----BEGIN PGP PUBLIC KEY BLOCK-----';

/**
 * Load keys from paths, bytes or key objects. A string that holds an armored block is taken as key text,
 * any other string as a path. Throws MirrorConfigError when nothing usable is found.
 */
export async function loadKeyring(sources: KeySource | readonly KeySource[]): Promise<Keyring> {
  const list = Array.isArray(sources) ? (sources as readonly KeySource[]) : [sources as KeySource];
  const keys: PublicKey[] = [];
  for (const source of list) {
    keys.push(...(await readSource(source)));
  }
  if (keys.length === 0) throw new MirrorConfigError('keyring holds no public keys');
  return { keys, fingerprints: keys.map((k) => k.getFingerprint().toUpperCase()) };
}

async function readSource(source: KeySource): Promise<PublicKey[]> {
  if (typeof source === 'string' && !source.includes(ARMOR_HEADER)) {
    let bytes: Buffer;
    try {
      bytes = await readFile(source);
    } catch (cause) {
      throw new MirrorConfigError(`cannot read keyring ${source}`, { cause });
    }
    return parseKeyBytes(bytes, source);
  }
  if (typeof source === 'string') return parseKeyBytes(Buffer.from(source, 'utf8'), 'armored text');
  if (source instanceof Uint8Array) return parseKeyBytes(source, 'keyring bytes');
  return [source];
}

/**
 * Every public key of a keyring file's bytes (binary, as Debian's `.gpg` keyrings, or armored text with
 * one or more blocks) as one armored block: the form a text column or a JSON API can hold and
 * `loadKeyring` reads back. MirrorConfigError when the bytes hold no key.
 */
export async function armorKeyring(bytes: Uint8Array): Promise<string> {
  const keys = await parseKeyBytes(bytes, 'keyring bytes');
  if (keys.length === 0) throw new MirrorConfigError('keyring holds no public keys');
  const packets = keys.map((k) => k.write());
  return armor(enums.armor.publicKey, Buffer.concat(packets));
}

/** openpgp reads one armor block per call; `cat a.asc b.asc` files hold several. */
function armoredBlocks(text: string): string[] {
  const blocks = text.match(
    /-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]*?-----END PGP PUBLIC KEY BLOCK-----/g,
  );
  return blocks ?? [text];
}

async function parseKeyBytes(bytes: Uint8Array, what: string): Promise<PublicKey[]> {
  const head = Buffer.from(bytes.subarray(0, 4096)).toString('latin1');
  try {
    const keys: PublicKey[] = [];
    if (head.includes(ARMOR_HEADER)) {
      for (const block of armoredBlocks(Buffer.from(bytes).toString('utf8')))
        keys.push(...(await readKeys({ armoredKeys: block })));
    } else {
      keys.push(...(await readKeys({ binaryKeys: bytes })));
    }
    // A keyring file may carry secret material by mistake; only the public half is ever used.
    return keys.map((k) => k.toPublic());
  } catch (cause) {
    throw new MirrorConfigError(`cannot parse OpenPGP keys from ${what}`, { cause });
  }
}

/** A config's trusted keys as a Keyring: already loaded, or read from its sources (or `fallback`). */
export async function resolveKeyring(
  source: KeySource | readonly KeySource[] | Keyring | undefined,
  fallback?: KeySource,
): Promise<Keyring> {
  if (source && typeof source === 'object' && 'keys' in source && 'fingerprints' in source) return source;
  const sources = (source as KeySource | readonly KeySource[] | undefined) ?? fallback;
  if (sources === undefined) throw new MirrorConfigError('no keyring given');
  return loadKeyring(sources);
}
