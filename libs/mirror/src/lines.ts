import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { MirrorParseError } from './errors.ts';

/** Longest line accepted in an index; longer means the input is not what we think it is. */
export const MAX_LINE_LENGTH = 1 << 20;

/**
 * Split a byte stream into lines (without the newline; a trailing `\r` is dropped too).
 * Memory stays bounded by one chunk plus one line.
 */
export async function* readLines(stream: Readable, label: string): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let carry = '';
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const text = carry + decoder.write(chunk);
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      yield stripCr(text.slice(start, nl));
      start = nl + 1;
    }
    carry = text.slice(start);
    if (carry.length > MAX_LINE_LENGTH) {
      stream.destroy();
      throw new MirrorParseError(`${label}: line longer than ${MAX_LINE_LENGTH} characters`);
    }
  }
  carry += decoder.end();
  if (carry.length > 0) yield stripCr(carry);
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
