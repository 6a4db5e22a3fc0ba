// Minimal declarations for the untyped decoders we use; only what this lib calls.

declare module 'lzma-native' {
  import type { Duplex } from 'node:stream';
  interface LzmaStreamOptions {
    memlimit?: number;
    flags?: number;
    bufsize?: number;
    synchronous?: boolean;
  }
  export function createStream(
    coder: 'autoDecoder' | 'streamDecoder' | 'aloneDecoder',
    options?: LzmaStreamOptions,
  ): Duplex;
  export const CONCATENATED: number;
  const lzma: { createStream: typeof createStream; CONCATENATED: number };
  export default lzma;
}

declare module 'seek-bzip' {
  interface BunzipInput {
    readByte(): number;
    eof(): boolean;
    seek(pos: number): void;
  }
  interface BunzipOutput {
    writeByte(byte: number): void;
  }
  const Bunzip: {
    decode(input: Uint8Array | BunzipInput, output: BunzipOutput, multistream?: boolean): void;
  };
  export default Bunzip;
}
