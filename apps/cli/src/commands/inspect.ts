import { Btf, KIND_NAMES, dumpRaw, openBtf, readBtfFromFile, type Kind } from '@btfwatch/btf';
import { readModuleFacts } from '@btfwatch/compat';
import { createHash } from 'node:crypto';
import { parse } from '../args.ts';
import { kernelVersionOf, readBtfContainer } from '../files.ts';
import { UsageError } from '../usage.ts';

export const INSPECT_USAGE = `btfwatch inspect FILE [--base FILE] [--json] [--types]
  FILE: vmlinuz, vmlinux, /sys/kernel/btf/vmlinux, raw .btf, or a module (.ko, .ko.xz, .ko.zst, .ko.gz)
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
  const bytes = await readBtfContainer(path);
  const file = readBtfFromFile(bytes);
  const base = values.base ? openBtf(readBtfFromFile(await readBtfContainer(values.base))) : undefined;
  const isModule = file.looksSplit || file.distilledBase !== undefined;
  const summary: Record<string, unknown> = {
    file: path,
    kind: isModule ? 'module' : 'vmlinux',
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
  if (values.json) {
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
