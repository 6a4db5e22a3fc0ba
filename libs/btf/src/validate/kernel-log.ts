import type { KernelBtfFeatures } from './features.ts';

/** vscnprintf into BPF_VERIFIER_TMP_LOG_SIZE (1024) keeps at most 1023 bytes of one verifier message. */
const TMP_LOG_SIZE = 1024;

/**
 * The kernel's BPF_LOG_KERNEL sink: every bpf_verifier_vlog() call becomes its own pr_err() record.
 * Text is held as "binary" strings (one char per byte) so truncation counts bytes like the kernel,
 * and is decoded as UTF-8 only when lines are handed out.
 */
export class KernelLog {
  private readonly records: string[] = [];

  constructor(private readonly features: KernelBtfFeatures) {}

  /** One bpf_verifier_vlog() call with already-formatted text. */
  vlog(text: string): void {
    const kbuf = text.length >= TMP_LOG_SIZE ? text.slice(0, TMP_LOG_SIZE - 1) : text;
    if (this.features.logPrefix === 'BPF: ') {
      // 5.17+: pr_err("BPF: %s%s", kbuf, newline ? "" : "\n")
      this.records.push(`BPF: ${kbuf}${kbuf.endsWith('\n') ? '' : '\n'}`);
    } else {
      // 5.11–5.16: pr_err("BPF:%s\n", kbuf); a message ending in "\n" leaves an empty line behind it.
      this.records.push(`BPF:${kbuf}\n`);
    }
  }

  /** A plain pr_warn()/pr_err() line outside the verifier log. */
  print(text: string): void {
    this.records.push(`${text}\n`);
  }

  /** The lines as dmesg shows them (one per newline; the text after the last newline is dropped as empty). */
  lines(): string[] {
    const out: string[] = [];
    for (const record of this.records) {
      const parts = record.split('\n');
      parts.pop();
      for (const part of parts) out.push(Buffer.from(part, 'latin1').toString('utf8'));
    }
    return out;
  }
}
