import { BtfError } from '@btfwatch/btf/errors';
import { CompatError } from '@btfwatch/compat/errors';
import { DbError } from '@btfwatch/db/errors';
import { ConfigError } from '@btfwatch/config';
import { ElfError } from '@btfwatch/elf/errors';
import { MirrorError } from '@btfwatch/mirror/errors';
import { PkgError } from '@btfwatch/pkg/errors';
import { GuardError } from './guard-errors.ts';
import { UsageError } from './usage.ts';

/** One clear line on stderr and a non-zero exit for configuration and usage errors; stack traces otherwise. */
export function reportFatal(err: unknown): number {
  if (err instanceof ConfigError || err instanceof UsageError) {
    process.stderr.write(`btfwatch: ${err.message}\n`);
    return 2;
  }
  // Malformed files and unreachable mirrors are the user's input, not our bug: one line, no stack.
  if (
    err instanceof PkgError ||
    err instanceof BtfError ||
    err instanceof ElfError ||
    err instanceof CompatError ||
    err instanceof DbError ||
    err instanceof MirrorError ||
    err instanceof GuardError
  ) {
    process.stderr.write(`btfwatch: ${err.message} (${err.code})\n`);
    return 1;
  }
  if (err instanceof Error && 'code' in err && typeof err.code === 'string' && /^E[A-Z]+$/.test(err.code)) {
    process.stderr.write(`btfwatch: ${err.message}\n`);
    return 1;
  }
  process.stderr.write(`btfwatch: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 1;
}
