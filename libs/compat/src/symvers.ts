import { CompatError } from './errors.ts';

export interface ExportedSymbol {
  crc: number;
  module: string;
  exportType: string;
  namespace: string;
}

/**
 * Module.symvers: `0xCRC<TAB>symbol<TAB>module<TAB>EXPORT_TYPE[<TAB>namespace]` per line. Kernels without
 * MODVERSIONS write 0x00000000 CRCs; callers consult the config to know whether CRCs mean anything.
 */
export function parseModuleSymvers(text: string): Map<string, ExportedSymbol> {
  const symbols = new Map<string, ExportedSymbol>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const fields = line.split('\t');
    const [crcText, symbol, module, exportType, namespace] = fields;
    if (fields.length < 4 || !crcText || !symbol || !/^0x[0-9a-fA-F]{1,8}$/.test(crcText)) {
      throw new CompatError(
        'COMPAT_BAD_SYMVERS',
        `Module.symvers line ${i + 1}: expected "0xCRC\\tsymbol\\tmodule\\ttype"`,
      );
    }
    symbols.set(symbol, {
      crc: parseInt(crcText, 16),
      module: module ?? '',
      exportType: exportType ?? '',
      namespace: namespace ?? '',
    });
  }
  return symbols;
}

export interface CrcChange {
  symbol: string;
  before: number | null;
  after: number | null;
}

/** Exported symbols added, removed or with a changed CRC between two kernels. */
export function diffSymvers(a: Map<string, ExportedSymbol>, b: Map<string, ExportedSymbol>): CrcChange[] {
  const changes: CrcChange[] = [];
  for (const [symbol, s] of a) {
    const t = b.get(symbol);
    if (!t) changes.push({ symbol, before: s.crc, after: null });
    else if (t.crc !== s.crc) changes.push({ symbol, before: s.crc, after: t.crc });
  }
  for (const [symbol, t] of b) if (!a.has(symbol)) changes.push({ symbol, before: null, after: t.crc });
  return changes.sort((x, y) => (x.symbol < y.symbol ? -1 : x.symbol > y.symbol ? 1 : 0));
}

/** Exports as Module.symvers writes them (`0xCRC<TAB>symbol<TAB>module<TAB>type<TAB>namespace`), sorted by symbol. */
export function formatModuleSymvers(exports: Iterable<[string, ExportedSymbol]>): string {
  const lines = [...exports]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(
      ([symbol, s]) =>
        `0x${s.crc.toString(16).padStart(8, '0')}\t${symbol}\t${s.module}\t${s.exportType}\t${s.namespace}`,
    );
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** Where two export lists of one kernel disagree: symbols both list with different CRCs. */
export interface ExportsCrossCheck {
  compared: number;
  differ: number;
  examples: CrcChange[];
}

/** Compares the CRCs of the symbols both lists hold (e.g. the image's against Module.symvers). */
export function crossCheckExports(
  a: Map<string, ExportedSymbol>,
  b: Map<string, ExportedSymbol>,
): ExportsCrossCheck {
  let compared = 0;
  const differing: CrcChange[] = [];
  for (const [symbol, s] of a) {
    const t = b.get(symbol);
    if (!t) continue;
    compared++;
    if (t.crc !== s.crc) differing.push({ symbol, before: s.crc, after: t.crc });
  }
  return { compared, differ: differing.length, examples: differing.slice(0, 20) };
}
