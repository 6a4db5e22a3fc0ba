import type { Config } from '@btfwatch/config';
import { isolatedDecoders, type DecoderOptions, type Limits } from '@btfwatch/pkg';

/**
 * How uploads are decoded: out of process where the tools exist (the event loop keeps answering while a
 * bomb is refused), each output bounded by BTFWATCH_UPLOAD_EXPANDED_LIMIT while it is produced.
 */
export function uploadDecoding(config: Config): { limits: Partial<Limits>; decoders: DecoderOptions } {
  const max = config.uploadExpandedLimitBytes;
  return {
    limits: { maxModuleBytes: max, maxVmlinuxBytes: max, maxBufferedBytes: max },
    decoders: isolatedDecoders(),
  };
}
