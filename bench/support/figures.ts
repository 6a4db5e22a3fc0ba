// Small shared helpers for bench output and arguments.

/** `--name` present on the command line. */
export function flag(args: readonly string[], name: string): boolean {
  return args.includes(`--${name}`);
}

/** The value after `--name`, or `fallback`. */
export function option(args: readonly string[], name: string, fallback: string): string {
  const at = args.indexOf(`--${name}`);
  const value = at >= 0 ? args[at + 1] : undefined;
  return value ?? fallback;
}

export const median = (xs: readonly number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

export const percentile = (xs: readonly number[], p: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
};

export const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);
export const fixed = (x: number, digits = 2): string => x.toFixed(digits);

/** Progress and context go to stderr so stdout holds only the `figure: value` lines. */
export function note(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

export function printFigures(figures: Record<string, string | number>): void {
  for (const [k, v] of Object.entries(figures)) console.log(`${k}: ${v}`);
}
