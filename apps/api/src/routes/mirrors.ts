import {
  createMirror,
  deleteMirror,
  getMirror,
  listMirrors,
  listSuiteStates,
  updateMirror,
  type Mirror,
  type MirrorSettings,
} from '@btfwatch/db';
import { jobIds } from '@btfwatch/jobs';
import { MirrorError, armorKeyring, checkPatterns, loadKeyring, patternList } from '@btfwatch/mirror';
import { badRequest, notFound } from '../errors.ts';
import { mirrorView } from '../views.ts';
import type { Handlers } from './types.ts';

/**
 * The keyring as the scanner will read it: every public key it holds, as one armored block. Text with an
 * armor header but no readable key (a damaged block, a private key) is refused here, not at the first scan.
 */
async function normalisedKeyring(text: string): Promise<string> {
  if (!text.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) {
    throw badRequest('INVALID_KEYRING', 'keyring must be an ASCII-armored OpenPGP public key block');
  }
  try {
    return await armorKeyring(Buffer.from(text, 'utf8'));
  } catch (err) {
    if (err instanceof MirrorError)
      throw badRequest('INVALID_KEYRING', `keyring holds no usable OpenPGP public key: ${err.message}`);
    throw err;
  }
}

/** Patterns as stored: a list; ones that can never match a package name are refused, not stored. */
function matchPatterns(match: string | string[] | null | undefined): string[] {
  const list = match === null ? [] : patternList(match);
  try {
    checkPatterns(list);
  } catch (err) {
    if (err instanceof MirrorError) throw badRequest('INVALID_MATCH', err.message, { match: list });
    throw err;
  }
  return list;
}

const TRUST = ['keyring', 'insecure', 'allowExpired'] as const;

export const mirrorHandlers = {
  async listMirrors(request) {
    const rows = await listMirrors(request.server.deps.database.db);
    return { items: rows.map((m) => mirrorView(m)) };
  },

  async createMirror(request, reply) {
    const input = request.body;
    if (input.kind === 'apt' && !input.suites?.length) {
      throw badRequest(
        'MISSING_SUITES',
        'an apt mirror needs at least one suite, e.g. ["bookworm-security"]',
      );
    }
    if (input.keyring && input.insecure) {
      throw badRequest('CONFLICTING_OPTIONS', 'give a keyring or insecure: true, not both');
    }
    const match = matchPatterns(input.match);
    const keyring = input.keyring ? await normalisedKeyring(input.keyring) : null;
    const mirror = await createMirror(request.server.deps.database.db, {
      kind: input.kind,
      url: input.url.replace(/\/+$/, ''),
      distro: input.distro ?? null,
      suites: input.suites?.length ? input.suites : input.kind === 'rpm' ? ['.'] : [],
      components: input.components ?? ['main'],
      arch: input.arch ?? (input.kind === 'apt' ? 'amd64' : 'x86_64'),
      match,
      keyring,
      insecure: input.insecure ?? false,
      allowExpired: input.allowExpired ?? false,
      scanIntervalSeconds: input.scanIntervalSeconds ?? null,
    });
    if (mirror.insecure)
      request.log.warn(
        { mirror: mirror.id, url: mirror.url },
        'mirror added with signature checking disabled',
      );
    if (mirror.allowExpired)
      request.log.warn({ mirror: mirror.id, url: mirror.url }, 'mirror added accepting expired Releases');
    return reply.code(201).send(mirrorView(mirror));
  },

  async getMirror(request) {
    const { id } = request.params;
    const { db } = request.server.deps.database;
    const mirror = await getMirror(db, id);
    if (!mirror) throw notFound(`mirror ${id}`);
    return mirrorView(mirror, await listSuiteStates(db, id));
  },

  /**
   * Changes the settings given. Trust is never changed as a side effect: the result must be consistent
   * on its own (a keyring on a mirror that is insecure needs `insecure: false` in the same request), and
   * every trust change is logged with what it was and what it is now.
   */
  async updateMirror(request) {
    const { id } = request.params;
    const patch = request.body;
    const { db } = request.server.deps.database;
    const before = await getMirror(db, id);
    if (!before) throw notFound(`mirror ${id}`);
    const settings: MirrorSettings = {};
    if (patch.url !== undefined) settings.url = patch.url.replace(/\/+$/, '');
    if (patch.distro !== undefined) settings.distro = patch.distro;
    if (patch.suites !== undefined) {
      if (before.kind === 'apt' && patch.suites.length === 0)
        throw badRequest('MISSING_SUITES', 'an apt mirror needs at least one suite');
      settings.suites = patch.suites.length ? patch.suites : ['.'];
    }
    if (patch.components !== undefined) settings.components = patch.components;
    if (patch.arch !== undefined) settings.arch = patch.arch;
    if (patch.match !== undefined) settings.match = matchPatterns(patch.match);
    if (patch.keyring !== undefined)
      settings.keyring = patch.keyring === null ? null : await normalisedKeyring(patch.keyring);
    if (patch.insecure !== undefined) settings.insecure = patch.insecure;
    if (patch.allowExpired !== undefined) settings.allowExpired = patch.allowExpired;
    if (patch.scanIntervalSeconds !== undefined) settings.scanIntervalSeconds = patch.scanIntervalSeconds;
    const keyring = settings.keyring !== undefined ? settings.keyring : before.keyring;
    const insecure = settings.insecure ?? before.insecure;
    if (keyring !== null && insecure) {
      throw badRequest(
        'CONFLICTING_OPTIONS',
        patch.keyring !== undefined && patch.insecure === undefined
          ? 'the mirror is insecure: to check signatures with this keyring, give insecure: false as well'
          : 'a mirror with a keyring cannot be insecure: give keyring: null as well to stop checking',
      );
    }
    const after = await updateMirror(db, id, settings);
    if (!after) throw notFound(`mirror ${id}`);
    const changes = await trustChanges(before, after);
    if (Object.keys(changes).length > 0)
      request.log.warn({ mirror: id, url: after.url, changes }, 'mirror trust settings changed');
    const changed = (Object.keys(settings) as Array<keyof MirrorSettings>).filter(
      (k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]),
    );
    if (changed.length > 0) request.log.info({ mirror: id, changed }, 'mirror settings changed');
    return mirrorView(after, await listSuiteStates(db, id));
  },

  async deleteMirror(request, reply) {
    const { id } = request.params;
    if (!(await deleteMirror(request.server.deps.database.db, id))) throw notFound(`mirror ${id}`);
    return reply.code(204).send();
  },

  async scanMirror(request, reply) {
    const { id } = request.params;
    const { database, queue } = request.server.deps;
    if (!(await getMirror(database.db, id))) throw notFound(`mirror ${id}`);
    // A scan already queued or running for this mirror answers the request.
    const pending = await queue.list({
      names: ['scan-mirror'],
      states: ['waiting', 'delayed', 'active'],
      limit: 500,
    });
    const existing = pending.find((j) => j.data.mirrorId === id);
    const jobId =
      existing?.id ??
      (await queue.enqueue(
        'scan-mirror',
        { mirrorId: id, trigger: 'api' },
        { jobId: jobIds.requestedScan(id, Date.now()) },
      ));
    return reply.code(202).send({ jobId, links: { job: `/v1/jobs/${jobId}` } });
  },
} satisfies Handlers;

/** Trust settings that differ, as they were and are; a keyring by the fingerprints of its keys. */
async function trustChanges(
  before: Mirror,
  after: Mirror,
): Promise<Record<string, { from: unknown; to: unknown }>> {
  const keys = async (armored: string | null) =>
    armored === null ? 'distribution default' : (await loadKeyring(armored)).fingerprints;
  const out: Record<string, { from: unknown; to: unknown }> = {};
  for (const key of TRUST) {
    if (before[key] === after[key]) continue;
    out[key] =
      key === 'keyring'
        ? { from: await keys(before.keyring), to: await keys(after.keyring) }
        : { from: before[key], to: after[key] };
  }
  return out;
}
