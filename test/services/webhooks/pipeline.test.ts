import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Webhook } from 'standardwebhooks';
import { getDelivery, webhookDeliveries } from '@btfwatch/db';
import { DEFAULT_DELIVERY_GRACE_MS, buildProcessors, sweepDeliveries } from '@btfwatch/worker';
import type { JobQueue } from '@btfwatch/jobs';
import { eq } from 'drizzle-orm';
import { buildKernelDebs } from '../../support/kernel-builds.ts';
import { startMirror } from '../../support/mirror-server/index.ts';
import { Receiver } from '../../support/receiver.ts';
import { RELEASES } from '../../support/fixtures.ts';
import { authHeader, startTestService, type TestService } from '../../support/service.ts';
import { tempDir } from '../../support/services.ts';

// The upload reuses 6.1.0-56-amd64's release (and package name) with another build's files.
const UPLOAD_IMAGE = 'linux-image-6.1.0-56-amd64-unsigned';

interface Envelope {
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

/**
 * The real queue, except that the first job of every alert.btf_break delivery is lost on the way: what a
 * crash between the evaluation's commit and its enqueue leaves behind.
 */
function losingAlertJobs(queue: JobQueue, service: () => TestService): { queue: JobQueue; lost: string[] } {
  const lost: string[] = [];
  const wrapped: JobQueue = Object.create(queue) as JobQueue;
  wrapped.enqueue = async (name, data, options) => {
    if (name === 'deliver-webhook') {
      const { deliveryId, attempt } = data as { deliveryId: string; attempt: number };
      const row = await getDelivery(service().database.db, deliveryId);
      if (row?.event === 'alert.btf_break' && attempt === 1) {
        lost.push(options.jobId);
        return options.jobId;
      }
    }
    return queue.enqueue(name, data, options);
  };
  return { queue: wrapped, lost };
}

async function addMirror(svc: TestService, url: string, keyring?: string): Promise<number> {
  const res = await svc.app.inject({
    method: 'POST',
    url: '/v1/mirrors',
    headers: authHeader(),
    payload: { kind: 'apt', url, suites: ['bookworm-security'], ...(keyring ? { keyring } : {}) },
  });
  assert.equal(res.statusCode, 201, res.body);
  return (res.json() as { id: number }).id;
}

async function scan(svc: TestService, mirrorId: number): Promise<void> {
  const res = await svc.app.inject({
    method: 'POST',
    url: `/v1/mirrors/${mirrorId}/scan`,
    headers: authHeader(),
  });
  assert.equal(res.statusCode, 202, res.body);
}

test(
  'distributed: a real alert from the pipeline reaches a webhook through the outbox, even when its job is lost',
  { timeout: 300_000 },
  async () => {
    const work = tempDir();
    const b56 = await buildKernelDebs({ from: RELEASES.bookworm56, version: '6.1.192-2' }, work.path);
    // An in-place upload of 56 (same release, newer version, same CRCs) whose files come from the 55 build.
    const b55 = await buildKernelDebs(
      { from: RELEASES.bookworm55, release: RELEASES.bookworm56, version: '6.1.192-3' },
      work.path,
    );
    const mirror = await startMirror({
      apt: {
        suites: { 'bookworm-security': { packages: [b55.image, b55.headers, b56.image, b56.headers] } },
      },
    });
    const receiver = new Receiver();
    receiver.status = 202;
    await receiver.start();
    let lossy: ReturnType<typeof losingAlertJobs> | undefined;
    let svc!: TestService;
    try {
      svc = await startTestService('distributed', {
        env: { BTFWATCH_PUBLIC_URL: 'https://btfwatch.example' },
        processors: (deps) => {
          lossy = losingAlertJobs(deps.queue, () => svc);
          return buildProcessors({ ...deps, queue: lossy.queue });
        },
      });
      const hook = await svc.app.inject({
        method: 'POST',
        url: '/v1/webhooks',
        headers: authHeader(),
        payload: { url: receiver.url, events: ['alert.btf_break', 'kernel.ingested', 'scan.failed'] },
      });
      assert.equal(hook.statusCode, 201, hook.body);
      const { secret } = hook.json() as { secret: string };
      const verified = () =>
        receiver.received.map((r) => ({
          id: r.headers['webhook-id'] as string,
          body: new Webhook(secret).verify(r.body, r.headers as Record<string, string>) as Envelope,
        }));

      // The good mirror, and the same mirror without its key: its signature check fails (scan.failed).
      const good = await addMirror(svc, mirror.aptUrl, readFileSync(mirror.key.armoredPublicKeyPath, 'utf8'));
      const unsigned = await addMirror(svc, mirror.aptUrl);
      await scan(svc, good);
      await scan(svc, unsigned);
      await svc.drain();

      const kernels = (await svc.app.inject({ url: '/v1/kernels' })).json().items as Array<{
        id: number;
        release: string;
      }>;
      const k56 = (kernels as Array<{ id: number; release: string; version: string }>).find(
        (k) => k.version === '6.1.192-2',
      )!;
      const upload = (kernels as Array<{ id: number; release: string; version: string }>).find(
        (k) => k.version === '6.1.192-3',
      )!;
      const [alert] = (await svc.app.inject({ url: '/v1/alerts' })).json().items as Array<{
        id: number;
        kernelId: number;
      }>;
      assert.equal(alert?.kernelId, k56.id, 'the pipeline raised the 56 alert');

      // kernel.ingested for both builds and scan.failed arrived; the alert's job was lost.
      const before = verified();
      const types = before.map((d) => d.body.type).sort();
      assert.deepEqual(types, ['kernel.ingested', 'kernel.ingested', 'scan.failed']);
      const ingested = before
        .filter((d) => d.body.type === 'kernel.ingested')
        .map(
          (d) => d.body.data as { kernel: { release: string; baseBtfSha256: string }; missing: unknown[] },
        );
      // Each event says what its build still lacks at that moment: image packages carry BTF, config and version;
      // CRCs come from the headers package (these test images' small vmlinux ELF has none), which may arrive
      // before or after the image.
      for (const d of ingested)
        assert.ok(
          (d.missing as Array<{ input: string }>).every((m) => m.input === 'crcs'),
          JSON.stringify(d.missing),
        );
      assert.deepEqual(ingested.map((d) => d.kernel.release).sort(), [
        RELEASES.bookworm56,
        RELEASES.bookworm56,
      ]);
      const failed = before.find((d) => d.body.type === 'scan.failed')!.body.data as {
        mirror: { id: number };
        error: { code: string };
        willRetry: boolean;
      };
      assert.equal(failed.mirror.id, unsigned);
      assert.equal(failed.willRetry, false, 'a signature failure is permanent');
      assert.ok(failed.error.code, 'the failure names its code');
      assert.equal(lossy!.lost.length, 1);
      const [pending] = await svc.database.db
        .select()
        .from(webhookDeliveries)
        .where(eq(webhookDeliveries.event, 'alert.btf_break'));
      assert.equal(pending?.status, 'pending', 'the delivery was committed with the alert');
      assert.equal(pending?.attempts, 0);

      // Not yet overdue: the sweeper leaves it to its (lost) job.
      assert.deepEqual(await sweepDeliveries(svc.database.db, svc.queue, { defaultIntervalSeconds: 0 }), []);
      // Overdue: two schedulers sweeping in the same slot queue one job; it delivers.
      const later = new Date(pending!.nextAttemptAt!.getTime() + DEFAULT_DELIVERY_GRACE_MS + 1000);
      const sweep = () =>
        sweepDeliveries(svc.database.db, svc.queue, { defaultIntervalSeconds: 0, now: () => later });
      const [a, b] = await Promise.all([sweep(), sweep()]);
      assert.deepEqual(a, b);
      assert.equal(a!.length, 1);
      await svc.drain();
      // Sweeping again later finds nothing to do.
      assert.deepEqual(
        await sweepDeliveries(svc.database.db, svc.queue, {
          defaultIntervalSeconds: 0,
          now: () => new Date(later.getTime() + DEFAULT_DELIVERY_GRACE_MS * 3),
        }),
        [],
      );
      await svc.drain();

      const alerts = verified().filter((d) => d.body.type === 'alert.btf_break');
      assert.equal(alerts.length, 1, 'delivered exactly once');
      assert.equal(alerts[0]!.id, pending!.id, 'with the webhook-id recorded in the outbox');
      assert.equal((await getDelivery(svc.database.db, pending!.id))!.status, 'delivered');

      const data = alerts[0]!.body.data as {
        alert: { id: number; affectedModules: number; counts: Record<string, number>; severity: string };
        kernel: { id: number; release: string; links: { api: string; dashboard: string } };
        sourceKernelId: number;
        modules: Array<{
          id: number;
          name: string;
          package: string;
          version: string;
          btf: string;
          load: string;
          abi: string;
          links: { api: string; dashboard: string };
        }>;
        modulesOmitted: number;
        packages: Array<{ name: string; version: string; affectedModules: number; links: { api: string } }>;
        links: { alert: { api: string; dashboard: string }; diff: string };
      };
      const base = 'https://btfwatch.example';
      assert.equal(data.alert.id, alert!.id);
      assert.equal(data.alert.affectedModules, 12);
      assert.deepEqual(data.alert.counts, { rejected: 12 });
      assert.equal(data.kernel.release, RELEASES.bookworm56);
      assert.deepEqual(data.kernel.links, {
        api: `${base}/v1/kernels/${k56.id}`,
        dashboard: `${base}/#/kernels/${k56.id}`,
      });
      assert.deepEqual(data.links.alert, {
        api: `${base}/v1/alerts/${alert!.id}`,
        dashboard: `${base}/#/alerts/${alert!.id}`,
      });
      assert.equal(data.links.diff, `${base}/#/kernels/${k56.id}?diff=${upload.id}`);
      assert.equal(data.sourceKernelId, upload.id);
      assert.equal(data.modules.length, 12);
      assert.equal(data.modulesOmitted, 0);
      for (const m of data.modules) {
        assert.equal(m.package, UPLOAD_IMAGE);
        assert.equal(m.version, '6.1.192-3');
        assert.equal(m.btf, 'rejected');
        assert.equal(m.abi, 'compatible');
        assert.equal(m.load, 'loads-without-btf');
        assert.equal(m.links.dashboard, `${base}/#/compat?kernel=${k56.id}&moduleBuild=${m.id}`);
      }
      assert.deepEqual(
        data.packages.map((p) => [p.name, p.version, p.affectedModules]),
        [[UPLOAD_IMAGE, '6.1.192-3', 12]],
      );

      // Every link names something the API serves: each module's verdict, the complete package list.
      const overlay = data.modules.find((m) => m.name === 'overlay')!;
      const verdict = (await svc.app.inject({ url: overlay.links.api.slice(base.length) })).json();
      assert.equal(verdict.items[0].btf, 'rejected');
      assert.ok(verdict.items[0].evidence.kernelLog.includes('failed to validate module [overlay] BTF: -22'));
      const all = (await svc.app.inject({ url: data.packages[0]!.links.api.slice(base.length) })).json();
      assert.deepEqual(
        all.items.map((v: { module: { id: number } }) => v.module.id).sort(),
        data.modules.map((m) => m.id).sort(),
      );
      assert.equal((await svc.app.inject({ url: data.kernel.links.api.slice(base.length) })).statusCode, 200);
    } finally {
      await svc?.close();
      await receiver.stop();
      await mirror.close();
      work.remove();
    }
  },
);
