import { createMirror, deleteMirror, getMirror, listMirrors, listSuiteStates } from '@btfwatch/db';
import { jobIds } from '@btfwatch/jobs';
import { MirrorError, armorKeyring } from '@btfwatch/mirror';
import { badRequest, notFound } from '../errors.ts';
import { mirrorView } from '../views.ts';
import type { Handlers } from './types.ts';

/**
 * The keyring as the scanner will read it: every public key it holds, as one armored block. Text with an
 * armor header but no readable key (a damaged block, a private key) is refused here, not at the first scan.
 */
async function normalisedKeyring(text: string): Promise<string> {
  try {
    return await armorKeyring(Buffer.from(text, 'utf8'));
  } catch (err) {
    if (err instanceof MirrorError)
      throw badRequest('INVALID_KEYRING', `keyring holds no usable OpenPGP public key: ${err.message}`);
    throw err;
  }
}

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
    if (input.keyring && !input.keyring.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) {
      throw badRequest('INVALID_KEYRING', 'keyring must be an ASCII-armored OpenPGP public key block');
    }
    if (input.keyring && input.insecure) {
      throw badRequest('CONFLICTING_OPTIONS', 'give a keyring or insecure: true, not both');
    }
    const keyring = input.keyring ? await normalisedKeyring(input.keyring) : null;
    const mirror = await createMirror(request.server.deps.database.db, {
      kind: input.kind,
      url: input.url.replace(/\/+$/, ''),
      distro: input.distro ?? (input.kind === 'apt' ? 'debian' : 'fedora'),
      suites: input.suites?.length ? input.suites : input.kind === 'rpm' ? ['.'] : [],
      components: input.components ?? ['main'],
      arch: input.arch ?? (input.kind === 'apt' ? 'amd64' : 'x86_64'),
      match: input.match ?? null,
      keyring,
      insecure: input.insecure ?? false,
      scanIntervalSeconds: input.scanIntervalSeconds ?? null,
    });
    if (mirror.insecure)
      request.log.warn(
        { mirror: mirror.id, url: mirror.url },
        'mirror added with signature checking disabled',
      );
    return reply.code(201).send(mirrorView(mirror));
  },

  async getMirror(request) {
    const { id } = request.params;
    const { db } = request.server.deps.database;
    const mirror = await getMirror(db, id);
    if (!mirror) throw notFound(`mirror ${id}`);
    return mirrorView(mirror, await listSuiteStates(db, id));
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
