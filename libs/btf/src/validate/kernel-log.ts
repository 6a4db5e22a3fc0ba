import { binaryToText } from '../text.ts';
import type { KernelBtfFeatures } from './features.ts';

/** vscnprintf into BPF_VERIFIER_TMP_LOG_SIZE (1024) keeps at most 1023 bytes of one verifier message. */
const TMP_LOG_SIZE = 1024;
/** pr_err/pr_warn put KERN_SOH and the level digit in front of the text; printk strips them after the cut. */
const LEVEL_PREFIX = 2;

/**
 * The kernel's BPF_LOG_KERNEL sink: every bpf_verifier_vlog() call becomes its own pr_err() record.
 * Text is held as "binary" strings (one char per byte) so truncation counts bytes like the kernel,
 * and is turned into text (bytesToText: valid UTF-8 as is, other bytes as "\xNN") only when lines are
 * handed out.
 */
export class KernelLog {
  private readonly records: string[] = [];

  constructor(private readonly features: KernelBtfFeatures) {}

  /** One bpf_verifier_vlog() call with already-formatted text. */
  vlog(text: string): void {
    const kbuf = text.length >= TMP_LOG_SIZE ? text.slice(0, TMP_LOG_SIZE - 1) : text;
    if (this.features.logPrefix === 'BPF: ') {
      // 5.17+: pr_err("BPF: %s%s", kbuf, newline ? "" : "\n")
      this.store(`BPF: ${kbuf}${kbuf.endsWith('\n') ? '' : '\n'}`);
    } else {
      // 5.11–5.16: pr_err("BPF:%s\n", kbuf); a message ending in "\n" leaves an empty line behind it.
      this.store(`BPF:${kbuf}\n`);
    }
  }

  /** A plain pr_warn()/pr_err() line outside the verifier log. */
  print(text: string): void {
    this.store(`${text}\n`);
  }

  /**
   * vprintk_store: the record is vscnprintf'd into `reserve_size` = min(formatted length + 1,
   * printkRecordMax) bytes, level prefix included, so a long line loses its tail (and its newline);
   * then one trailing newline and the level prefix are stripped.
   */
  private store(formatted: string): void {
    let text = formatted;
    const room = this.features.printkRecordMax - 1 - LEVEL_PREFIX;
    if (text.length > room) text = text.slice(0, room);
    if (text.endsWith('\n')) text = text.slice(0, -1);
    this.records.push(text);
  }

  /** The lines as dmesg shows them: a record holding newlines shows as several lines. */
  lines(): string[] {
    const out: string[] = [];
    for (const record of this.records) for (const part of record.split('\n')) out.push(binaryToText(part));
    return out;
  }
}
