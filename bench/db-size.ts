// Database growth per kernel build ingested, on real data.
//   npm run bench -- db-size [--keep-cache] [--rebuild] [--keep-db]
//
// The two pinned full Debian kernel builds (linux-image-6.1.0-55/56-amd64-unsigned + linux-headers, ~4,000
// modules each) go through the real pipeline one after the other (bench/support/loaded-database.ts):
// scan-mirror → ingest-package → evaluate-kernel, as production runs them. After each build, Postgres's
// own accounting (pg_total_relation_size per table: heap + indexes + TOAST) is taken; the deltas are what
// one kernel build costs. The second build also stores the verdicts of the first build's modules on it
// (an upload is checked against the previous uploads' modules), so its delta is the steady-state one.
//
// Reference in the same run: the bytes of the packages the build came in (.deb, xz-compressed), and the
// raw bytes of the BTF the database keeps (the blobs before our zstd). Blob compression: raw bytes /
// bytes we store, per kind, and / bytes on disk after TOAST. Sizes are as measured right after loading
// (dead tuples from in-place updates included, as production has them until autovacuum); the compacted
// total after VACUUM FULL of a clone is printed beside them.
// With a cached template the per-build figures are the ones measured when the template was loaded.
import pg from 'pg';
import { fixed, mb, note, printFigures } from './support/figures.ts';
import { loadedDatabase } from './support/loaded-database.ts';
import { blobStats, sizeDelta, sumTotal, tableSizes, type BlobStats } from './support/sizes.ts';

const args = process.argv.slice(2);
const loaded = await loadedDatabase(args);
const figures: Record<string, string | number> = {};
try {
  const { meta } = loaded;
  figures['template'] =
    `${loaded.template} (${loaded.reused ? 'reused' : 'loaded in this run'}, ${meta.builtAt})`;
  let before = meta.baseline;
  let prevBlobs: BlobStats[] = [];
  for (const stage of meta.stages) {
    const delta = sizeDelta(before, stage.tables);
    const total = sumTotal(delta);
    const pkgBytes = stage.packages.reduce((n, p) => n + p.bytes, 0);
    const modules = delta.find((t) => t.table === 'module_builds')?.rows ?? 0;
    const verdicts = delta.find((t) => t.table === 'verdicts');
    const k = stage.release;
    figures[`${k} packages`] = stage.packages.map((p) => p.file).join(' + ');
    figures[`${k} package MB (.deb)`] = mb(pkgBytes);
    figures[`${k} load wall s (scan → ingest → evaluate)`] = fixed(stage.seconds, 0);
    for (const j of stage.jobs.filter((j) => j.name !== 'scan-mirror')) {
      let label = `${k} ${j.name} ${j.label} s (queued → done)`;
      for (let n = 2; label in figures; n++) label = `${k} ${j.name} ${j.label} #${n} s (queued → done)`;
      figures[label] = fixed(j.seconds, 1);
    }
    figures[`${k} module builds added`] = modules;
    figures[`${k} verdicts added`] = verdicts?.rows ?? 0;
    for (const t of delta.filter((t) => t.total !== 0 || t.rows !== 0))
      figures[`${k} Δ ${t.table} MB`] =
        `${mb(t.total)} (heap ${mb(t.heap)}, indexes ${mb(t.indexes)}, toast ${mb(t.toast)}; ${t.rows} rows)`;
    figures[`${k} Δ total MB`] = mb(total);
    figures[`${k} Δ total / package bytes`] = fixed(total / pkgBytes);
    if (modules > 0) figures[`${k} Δ total per module build KB`] = fixed(total / modules / 1e3, 1);
    if (verdicts && verdicts.rows > 0)
      figures[`${k} Δ verdicts bytes per verdict`] = Math.round(verdicts.total / verdicts.rows);
    const prev = new Map(prevBlobs.map((b) => [b.kind, b]));
    for (const b of stage.blobs) {
      const p = prev.get(b.kind);
      const n = b.count - (p?.count ?? 0);
      const raw = b.raw - (p?.raw ?? 0);
      const stored = b.stored - (p?.stored ?? 0);
      figures[`${k} new blobs ${b.kind}`] =
        `${n} (raw ${mb(raw)} MB, stored ${mb(stored)} MB${raw > 0 ? `, ratio ${fixed(raw / Math.max(1, stored))}` : ''})`;
    }
    before = stage.tables;
    prevBlobs = stage.blobs;
  }

  // Blob compression over everything stored, measured on the clone now.
  const blobs = await blobStats(loaded.url);
  let raw = 0;
  let stored = 0;
  let onDisk = 0;
  for (const b of blobs) {
    figures[`blobs ${b.kind}`] =
      `${b.count} (${b.zstd} zstd), raw ${mb(b.raw)} MB, stored ${mb(b.stored)} MB, on disk ${mb(b.onDisk)} MB`;
    figures[`blob compression ${b.kind} (raw / stored)`] = fixed(b.raw / b.stored);
    raw += b.raw;
    stored += b.stored;
    onDisk += b.onDisk;
  }
  figures['blob raw MB'] = mb(raw);
  figures['blob stored MB'] = mb(stored);
  figures['blob compression ratio (raw / stored)'] = fixed(raw / stored);
  figures['blob compression ratio (raw / on disk after TOAST)'] = fixed(raw / onDisk);

  const final = meta.stages.at(-1)!.tables;
  const loadedTotal = sumTotal(sizeDelta(meta.baseline, final));
  const builds = meta.stages.length;
  const packageBytes = meta.stages.flatMap((s) => s.packages).reduce((n, p) => n + p.bytes, 0);
  figures['kernel builds'] = builds;
  figures['all builds Δ total MB'] = mb(loadedTotal);
  figures['all builds Δ total per kernel build MB'] = mb(loadedTotal / builds);
  figures['all builds Δ total / package bytes'] = fixed(loadedTotal / packageBytes);

  note('VACUUM FULL on the clone for the compacted size');
  const vacuumStart = performance.now();
  const client = new pg.Client({ connectionString: loaded.url });
  await client.connect();
  await client.query('vacuum full');
  await client.end();
  const compacted = await tableSizes(loaded.url);
  const compactedTotal = sumTotal(sizeDelta(meta.baseline, compacted));
  figures['vacuum full s'] = fixed((performance.now() - vacuumStart) / 1000, 1);
  figures['all builds compacted total MB'] = mb(compactedTotal);
  figures['all builds compacted per kernel build MB'] = mb(compactedTotal / builds);
  figures['compacted / as loaded'] = fixed(compactedTotal / loadedTotal);
  figures['cores (shared machine: figures indicative)'] = meta.cores;
} finally {
  await loaded.drop();
}
printFigures(figures);
