import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { btfFixture, fixturesDir, moduleElf, moduleNames, vmlinuxBtf } from './fixtures.ts';
import { buildDeb } from './mirror-server/index.ts';

/** Where each fixture module lives in the real package (test/fixtures/btf/regenerate.sh). */
const MODULE_PATHS: Record<string, string> = {
  'overlay.ko': 'fs/overlayfs/overlay.ko',
  'dummy.ko': 'drivers/net/dummy.ko',
  'llc.ko': 'net/llc/llc.ko',
  'stp.ko': 'net/802/stp.ko',
  'nls_cp437.ko': 'fs/nls/nls_cp437.ko',
  'wp512.ko': 'crypto/wp512.ko',
  'sch_tbf.ko': 'net/sched/sch_tbf.ko',
  'veth.ko': 'drivers/net/veth.ko',
  'fuse.ko': 'fs/fuse/fuse.ko',
  'squashfs.ko': 'fs/squashfs/squashfs.ko',
  'crc-itu-t.ko': 'lib/crc-itu-t.ko',
  'udp_tunnel.ko': 'net/ipv4/udp_tunnel.ko',
};

/**
 * A bzImage around `btf`: the real 6.1 setup header (from the committed vmlinuz fixture) and an xz
 * payload (with the kernel's BCJ x86 filter) of a small ELF whose .BTF section is the given bytes.
 */
export function vmlinuzWithBtf(btf: Uint8Array): Buffer {
  const work = mkdtempSync(join(tmpdir(), 'bw-vmlinuz-'));
  try {
    writeFileSync(join(work, 'empty'), 'btfwatch test vmlinux');
    writeFileSync(join(work, 'vmlinux.btf'), btf);
    execFileSync('objcopy', ['-I', 'binary', '-O', 'elf64-x86-64', 'empty', 'empty.o'], { cwd: work });
    execFileSync(
      'objcopy',
      [
        '--add-section',
        '.BTF=vmlinux.btf',
        '--set-section-flags',
        '.BTF=alloc,readonly,data',
        'empty.o',
        'vmlinux',
      ],
      { cwd: work },
    );
    const elf = readFileSync(join(work, 'vmlinux'));
    const payload = execFileSync(
      'xz',
      ['--check=crc32', '--x86', '--lzma2=dict=32MiB', '-c', join(work, 'vmlinux')],
      { maxBuffer: 1 << 28 },
    );
    const template = readFileSync(join(fixturesDir, 'pkg', 'vmlinuz', 'vmlinuz-xz'));
    const setupSects = template[0x1f1] || 4;
    const payloadOffset = template.readUInt32LE(0x248);
    const header = Buffer.from(template.subarray(0, (setupSects + 1) * 512 + payloadOffset));
    const size = Buffer.alloc(4);
    size.writeUInt32LE(elf.byteLength);
    header.writeUInt32LE(payload.byteLength + 4, 0x24c);
    return Buffer.concat([header, payload, size]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export interface KernelBuildSpec {
  /** Fixture release whose BTF, config, modules and symvers are used. */
  from: '6.1.0-55-amd64' | '6.1.0-56-amd64';
  /** Release string the packages claim (defaults to `from`). */
  release?: string;
  version: string;
  /** Replace the vmlinux BTF (e.g. a synthetic equal-counts variant). */
  btf?: Uint8Array;
  /** Leave modules out of the image package. */
  withoutModules?: boolean;
}

/** Small but real Debian kernel packages (image + headers) of one build, built with dpkg-deb. */
export async function buildKernelDebs(
  spec: KernelBuildSpec,
  outDir: string,
): Promise<{ image: string; headers: string }> {
  const release = spec.release ?? spec.from;
  const files: Record<string, Uint8Array | string> = {
    [`boot/vmlinuz-${release}`]: vmlinuzWithBtf(spec.btf ?? vmlinuxBtf(spec.from)),
    [`boot/config-${release}`]: btfFixture(`${spec.from}/config.xz`),
  };
  if (!spec.withoutModules) {
    for (const name of moduleNames(spec.from)) {
      let elf = moduleElf(spec.from, name);
      if (release !== spec.from) elf = relabelVermagic(elf, spec.from, release);
      files[`lib/modules/${release}/kernel/${MODULE_PATHS[name] ?? `misc/${name}`}`] = elf;
    }
  }
  const image = await buildDeb(
    {
      name: `linux-image-${release}-unsigned`,
      version: spec.version,
      source: `linux (${spec.version})`,
      depends: 'kmod, linux-base (>= 4.3~)',
      files,
    },
    outDir,
  );
  const headers = await buildDeb(
    {
      name: `linux-headers-${release}`,
      version: spec.version,
      source: `linux (${spec.version})`,
      files: {
        [`usr/src/linux-headers-${release}/Module.symvers`]: btfFixture(`${spec.from}/Module.symvers.xz`),
      },
    },
    outDir,
  );
  return { image, headers };
}

/** Rewrites the release in a module's vermagic (same length), as an ABI-compatible rebuild would carry it. */
function relabelVermagic(elf: Buffer, from: string, to: string): Buffer {
  if (from.length !== to.length) throw new Error('relabel needs release strings of equal length');
  const copy = Buffer.from(elf);
  const needle = Buffer.from(`vermagic=${from} `);
  const at = copy.indexOf(needle);
  if (at < 0) throw new Error('module has no vermagic');
  copy.write(`vermagic=${to} `, at, 'latin1');
  return copy;
}
