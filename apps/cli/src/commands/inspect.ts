import { Btf, KIND_NAMES, dumpRaw, openBtf, readBtfFromFile, type Kind } from '@btfwatch/btf';
import { kernelVersionFromBanner, readModuleFacts } from '@btfwatch/compat';
import { describeLayers, type KernelImage } from '@btfwatch/pkg';
import { createHash } from 'node:crypto';
import { parse } from '../args.ts';
import { kernelVersionOf, readBtfContainer, readKernelOrModule } from '../files.ts';
import { UsageError } from '../usage.ts';

export const INSPECT_USAGE = `btfwatch inspect FILE [--base FILE] [--json] [--types]
  FILE: a kernel image (x86 bzImage, arm64/riscv64 Image or Image.gz, EFI zboot, ARM zImage, s390 image,
        vmlinux ELF), /sys/kernel/btf/vmlinux, raw .btf, or a module (.ko, .ko.xz, .ko.zst, .ko.gz).
        A kernel built without BTF prints "btf: none" and why (exit status 0).
  --base FILE   the base BTF a module's split BTF is read against (needed for --types on modules)
  --types       dump every type like \`bpftool btf dump file FILE format raw\`
  --json        machine-readable summary`;

function kindHistogram(btf: Btf): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const id of btf.localIds()) {
    const name = KIND_NAMES[btf.raw(id).kind as Kind] ?? 'UNKNOWN';
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

export async function inspect(argv: string[]): Promise<number> {
  const { values, positionals } = parse('inspect', argv, {
    base: { type: 'string' },
    json: { type: 'boolean' },
    types: { type: 'boolean' },
  });
  if (positionals.length !== 1) throw new UsageError(`usage: ${INSPECT_USAGE}`);
  const path = positionals[0]!;
  const read = await readKernelOrModule(path);
  const image = read.kind === 'image' ? read.image : null;
  if (image && !read.bytes) {
    const version = image.banner ? kernelVersionFromBanner(image.banner) : null;
    return printSummary(
      {
        ...imageSummary(path, image),
        kernelVersion: version?.version ?? null,
        versionFrom: version?.how ?? null,
      },
      values.json === true,
    );
  }
  const bytes = read.bytes!;
  const file = readBtfFromFile(bytes);
  const base = values.base ? openBtf(readBtfFromFile(await readBtfContainer(values.base))) : undefined;
  const isModule = file.looksSplit || file.distilledBase !== undefined;
  const summary: Record<string, unknown> = {
    ...(image ? imageSummary(path, image) : { file: path, kind: isModule ? 'module' : 'vmlinux' }),
    btfSha256: createHash('sha256').update(file.btf).digest('hex'),
    btfBytes: file.btf.byteLength,
  };
  let btf: Btf | undefined;
  if (!isModule) {
    btf = openBtf(file);
    const version = await kernelVersionOf(path, bytes);
    Object.assign(summary, {
      nrTypes: btf.nrTypes,
      strLen: btf.strLen,
      kernelVersion: version?.version ?? null,
      versionFrom: version?.how ?? null,
    });
  } else {
    if (file.format === 'elf') {
      const facts = readModuleFacts(path, bytes);
      Object.assign(summary, {
        module: facts.name,
        vermagic: facts.vermagic,
        srcversion: facts.srcversion,
        depends: facts.depends,
        importedSymbols: facts.importedCrcs.length,
      });
    }
    summary.distilledBase = file.distilledBase !== undefined;
    if (base || file.distilledBase) {
      btf = openBtf(file, base);
      Object.assign(summary, {
        startId: btf.startId,
        types: btf.count,
        startStrOff: btf.strings.startOffset,
      });
    }
  }
  if (btf) summary.kinds = kindHistogram(btf);
  if (values.types) {
    if (!btf) throw new UsageError('inspect --types on a module needs --base FILE (its vmlinux BTF)');
    process.stdout.write(dumpRaw(btf));
    return 0;
  }
  return printSummary(summary, values.json === true);
}

/** What the image itself says: its layers, release, BTF byte order, and why it has no BTF if so. */
function imageSummary(path: string, image: KernelImage): Record<string, unknown> {
  return {
    file: path,
    kind: 'vmlinux',
    image: describeLayers(image.layers),
    arch: image.arch,
    release: image.release,
    ...(image.btf
      ? {
          byteOrder: image.littleEndian ? 'little-endian' : 'big-endian',
          btfFound:
            image.btfSource?.kind === 'raw-header'
              ? `BTF header at offset ${image.btfSource.offset}`
              : '.BTF section',
        }
      : { btf: 'none', noBtf: image.noBtf }),
  };
}

function printSummary(summary: Record<string, unknown>, json: boolean): number {
  if (json) {
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    return 0;
  }
  for (const [k, v] of Object.entries(summary)) {
    if (k === 'kinds') continue;
    process.stdout.write(`${k.padEnd(16)} ${Array.isArray(v) ? v.join(',') : String(v)}\n`);
  }
  if (summary.kinds) {
    process.stdout.write('kinds\n');
    for (const [k, n] of Object.entries(summary.kinds as Record<string, number>).sort(
      (a, b) => b[1] - a[1],
    )) {
      process.stdout.write(`  ${k.padEnd(14)} ${n}\n`);
    }
  }
  return 0;
}
