import { parseArgs } from 'node:util';
import { UsageError } from './usage.ts';

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

/** node:util parseArgs with usage errors that name the command. */
export function parse<const T extends NonNullable<Options>>(
  command: string,
  argv: string[],
  options: T,
): {
  values: {
    [K in keyof T]?: T[K] extends { type: 'boolean' }
      ? boolean
      : T[K] extends { multiple: true }
        ? string[]
        : string;
  };
  positionals: string[];
} {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true }) as never;
  } catch (err) {
    throw new UsageError(`${command}: ${(err as Error).message}; see btfwatch --help`);
  }
}
