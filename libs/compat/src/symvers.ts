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
