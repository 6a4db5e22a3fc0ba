import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CompatError, readModuleFacts } from '@btfwatch/compat';
import { RELEASES, moduleElf, moduleNames } from '../../support/fixtures.ts';

const real = () => moduleElf(RELEASES.bookworm55, moduleNames(RELEASES.bookworm55)[0]!);
const notAModule = (err: unknown) => err instanceof CompatError && err.code === 'COMPAT_NOT_A_MODULE';

test('a real module reads as one', () => {
  assert.ok(readModuleFacts('m.ko', real()).name.length > 0);
});

test('an executable ELF (what a vmlinux is: ET_EXEC) is COMPAT_NOT_A_MODULE', () => {
  const bytes = Buffer.from(real());
  bytes.writeUInt16LE(2, 16);
  assert.throws(() => readModuleFacts('vmlinux.ko', bytes), notAModule);
});

test('a module ELF header followed by zeros is COMPAT_NOT_A_MODULE, not a module without BTF', () => {
  const bytes = Buffer.alloc(4 * 1024 * 1024);
  real().copy(bytes, 0, 0, 64);
  bytes.writeBigUInt64LE(0n, 0x28); // e_shoff: no section table
  assert.throws(() => readModuleFacts('zeros.ko', bytes), notAModule);
});
