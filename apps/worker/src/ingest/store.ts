import {
  configFlags,
  crossCheckExports,
  dependencyNames,
  formatModuleSymvers,
  parseKernelConfig,
  parseModuleSymvers,
  releaseFlavour,
  upstreamVersion,
  type ExportedSymbol,
} from '@btfwatch/compat';
import { Btf } from '@btfwatch/btf';
import {
  getBlob,
  kernelExportBlobs,
  linkKernelPackage,
  setCrcCheck,
  markPackage,
  prepareBlob,
  putBlobs,
  insertModuleBuilds,
  setBuildBaseForKernel,
  upsertKernelBuild,
  type Database,
  type Executor,
  type KernelBuild,
  type NewModuleBuild,
  type PreparedBlob,
} from '@btfwatch/db';
import type { IngestPackagePayload } from '@btfwatch/jobs';
import type { ModuleReach } from '@btfwatch/evaluate';
import type { ExtractedPackage } from '@btfwatch/pkg';

export interface StoredPackage<T = undefined> {
  kernels: KernelBuild[];
  modules: number;
  blobs: number;
  /** Where the package's module builds matter: their releases and vermagics, and its dependencies. */
  reach: ModuleReach;
  /** What `inTransaction` returned. */
  recorded: T;
}

interface KernelPlan {
  release: string;
  fields: Parameters<typeof upsertKernelBuild>[2];
  hasVmlinuz: boolean;
  modules: number;
  /** What this package's vmlinux and in-tree modules export for the release. */
  exports: Map<string, ExportedSymbol>;
  exportsBlob?: PreparedBlob;
  /** Whether `exports` holds the vmlinux's own. */
  vmlinuxExports: boolean;
}

function addExports(
  to: Map<string, ExportedSymbol>,
  from: ReadonlyArray<{ symbol: string; crc: number; exportType: string }> | null | undefined,
  module: string,
): void {
  for (const e of from ?? [])
    to.set(e.symbol, { crc: e.crc, module, exportType: e.exportType, namespace: '' });
}

/** A module's name in Module.symvers: its path under kernel/, without the .ko suffix. */
function symversModule(path: string): string {
  const at = path.indexOf('/kernel/');
  return path
    .slice(at < 0 ? path.lastIndexOf('/') + 1 : at + '/kernel/'.length)
    .replace(/\.ko(\.[a-z0-9]+)?$/, '');
}

/** Lets timers (the queue's lock renewal above all) run between stretches of CPU work. */
const breathe = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Everything that can be computed before the transaction: hashes, compression, parsed facts. */
async function plan(pkg: IngestPackagePayload, extracted: ExtractedPackage, suite: string) {
  const blobs: PreparedBlob[] = [];
  const kernels = new Map<string, KernelPlan>();
  const kernelFor = (release: string): KernelPlan => {
    let k = kernels.get(release);
    if (!k)
      kernels.set(
        release,
        (k = {
          release,
          fields: { suites: [suite], flavour: releaseFlavour(release) },
          hasVmlinuz: false,
          modules: 0,
          exports: new Map(),
          vmlinuxExports: false,
        }),
      );
    return k;
  };
  for (const part of extracted.kernels.values()) {
    const k = kernelFor(part.release);
    addExports(k.exports, part.vmlinuxExports, 'vmlinux');
    if (part.vmlinuxExports?.length) k.vmlinuxExports = true;
    if (part.vmlinuxBtf !== undefined) {
      k.hasVmlinuz = true;
      k.fields.imagePackage = pkg.name;
      if (part.vmlinuxBtf) {
        const btf = Btf.parse(part.vmlinuxBtf);
        const blob = prepareBlob(part.vmlinuxBtf, 'base-btf');
        blobs.push(blob);
        Object.assign(k.fields, { baseBtfSha256: blob.sha256, nrTypes: btf.nrTypes, strLen: btf.strLen });
      }
    }
    if (part.configText) {
      k.fields.config = configFlags(parseKernelConfig(part.configText));
      k.fields.kernelVersion = upstreamVersion(part.configText, pkg.version);
    }
    if (part.symversText) {
      const exported = parseModuleSymvers(part.symversText);
      const blob = prepareBlob(Buffer.from(part.symversText), 'symvers');
      blobs.push(blob);
      Object.assign(k.fields, { symversSha256: blob.sha256, exportedSymbols: exported.size });
    }
  }
  const modules: Array<{ row: Omit<NewModuleBuild, 'kernelBuildId'>; release: string; inTree: boolean }> = [];
  for (const [i, m] of extracted.modules.entries()) {
    // Hashing and compressing ~60 MB of module BTF takes seconds: never in one stretch.
    if (i % 50 === 0) await breathe();
    const btfBlob = m.facts.btf ? prepareBlob(m.facts.btf, 'module-btf') : null;
    const baseBlob = m.facts.btfBase ? prepareBlob(m.facts.btfBase, 'module-btf-base') : null;
    if (btfBlob) blobs.push(btfBlob);
    if (baseBlob) blobs.push(baseBlob);
    if (m.inTree) {
      const k = kernelFor(m.release);
      k.modules++;
      addExports(k.exports, m.facts.exportedCrcs, symversModule(m.path));
      if (m.facts.vermagic) k.fields.vermagic ??= m.facts.vermagic;
    }
    modules.push({
      release: m.release,
      inTree: m.inTree,
      row: {
        packageSha256: pkg.sha256,
        path: m.path,
        name: m.facts.name,
        release: m.release,
        vermagic: m.facts.vermagic,
        srcversion: m.facts.srcversion,
        btfSha256: btfBlob?.sha256 ?? null,
        btfSize: m.facts.btf?.byteLength ?? null,
        hasBtfBase: baseBlob !== null,
        btfBaseSha256: baseBlob?.sha256 ?? null,
        importedCrcs: m.facts.importedCrcs,
        buildBaseHow: baseBlob ? 'distilled' : null,
      },
    });
  }
  for (const k of kernels.values()) {
    k.fields.kernelVersion ??= upstreamVersion(null, pkg.version);
    if (k.exports.size > 0) {
      k.exportsBlob = prepareBlob(Buffer.from(formatModuleSymvers(k.exports)), 'exports');
      blobs.push(k.exportsBlob);
    }
  }
  return { blobs, kernels, modules };
}

/**
 * Writes one package's facts in one transaction: blobs, kernel builds (created or completed), module
 * builds, and the package marked ingested. A crash anywhere leaves the database as it was.
 * `inTransaction` writes what must commit with them, or not at all (an event outbox), given the kernel
 * builds stored.
 */
export async function storePackage<T = undefined>(
  db: Database,
  /** The distribution a kernel build of this release belongs to. */
  distroFor: (release: string) => string,
  pkg: IngestPackagePayload,
  extracted: ExtractedPackage,
  inTransaction?: (tx: Executor, kernels: KernelBuild[]) => Promise<T>,
): Promise<StoredPackage<T>> {
  const planned = await plan(pkg, extracted, pkg.suite);
  const distinct = (values: Array<string | null>) =>
    [...new Set(values.filter((v): v is string => !!v))].sort();
  const reach: ModuleReach = {
    releases: distinct(extracted.modules.map((m) => m.release)),
    vermagics: distinct(extracted.modules.map((m) => m.facts.vermagic)),
    // Separate module packages reach the kernel builds they declare a dependency on.
    dependsOn: extracted.modules.some((m) => !m.inTree) ? dependencyNames(pkg.depends) : [],
  };
  const stored = await db.transaction(async (tx) => {
    await putBlobs(tx, planned.blobs);
    const kernelRows: KernelBuild[] = [];
    const kernelIds = new Map<string, number>();
    for (const k of planned.kernels.values()) {
      // Only packages of a kernel build define or complete it; separate module packages never do.
      if (!k.hasVmlinuz && k.modules === 0 && !k.fields.config && !k.fields.symversSha256) continue;
      const row = await upsertKernelBuild(
        tx,
        { distro: distroFor(k.release), release: k.release, version: pkg.version, arch: pkg.arch },
        k.fields,
      );
      kernelRows.push(row);
      kernelIds.set(k.release, row.id);
      await linkKernelPackage(tx, {
        kernelBuildId: row.id,
        packageSha256: pkg.sha256,
        role: pkg.role,
        hasVmlinuz: k.hasVmlinuz,
        modules: k.modules,
        exportsSha256: k.exportsBlob?.sha256 ?? null,
        exportedSymbols: k.exportsBlob ? k.exports.size : null,
        vmlinuxExports: k.vmlinuxExports,
      });
      if (k.exportsBlob || k.fields.symversSha256) await checkCrcs(tx, row);
    }
    const rows: NewModuleBuild[] = planned.modules.map((m) => ({
      ...m.row,
      kernelBuildId: m.inTree ? (kernelIds.get(m.release) ?? null) : null,
    }));
    const inserted = await insertModuleBuilds(tx, rows);
    for (const k of kernelRows) if (k.baseBtfSha256) await setBuildBaseForKernel(tx, k.id, k.baseBtfSha256);
    await markPackage(tx, pkg.sha256, 'ingested');
    const recorded = (await inTransaction?.(tx, kernelRows)) as T;
    return { kernels: kernelRows, modules: inserted, blobs: planned.blobs.length, recorded };
  });
  return { ...stored, reach };
}

/**
 * Where a build has both, the CRCs its image and modules carry against its Module.symvers (they are the same
 * numbers, written by the same build: a difference means the two did not come from one build).
 */
async function checkCrcs(tx: Executor, kernel: KernelBuild): Promise<void> {
  if (!kernel.symversSha256) return;
  const symvers = await getBlob(tx, kernel.symversSha256);
  const blobs = await kernelExportBlobs(tx, kernel.id);
  if (!symvers || blobs.length === 0) return;
  const image = new Map<string, ExportedSymbol>();
  for (const sha of blobs) {
    const text = await getBlob(tx, sha);
    if (text) for (const [k, v] of parseModuleSymvers(Buffer.from(text).toString('utf8'))) image.set(k, v);
  }
  await setCrcCheck(
    tx,
    kernel.id,
    crossCheckExports(image, parseModuleSymvers(Buffer.from(symvers).toString('utf8'))),
  );
}
