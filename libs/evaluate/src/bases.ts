import { Btf } from '@btfwatch/btf';
import { getBlob, type Database } from '@btfwatch/db';

/**
 * Parsed base BTFs by sha256, most recently used kept (a vmlinux parses in tens of ms; a few fit easily).
 * Concurrent requests for one base share its load.
 */
export class BaseCache {
  private readonly cache = new Map<string, Promise<Btf | null>>();
  constructor(
    private readonly db: Database,
    private readonly capacity = 8,
  ) {}

  get(sha256: string): Promise<Btf | null> {
    const hit = this.cache.get(sha256);
    if (hit) {
      this.cache.delete(sha256);
      this.cache.set(sha256, hit);
      return hit;
    }
    const loading = this.load(sha256);
    this.cache.set(sha256, loading);
    // A base not stored (yet) or a failed load is asked again next time.
    loading.then(
      (btf) => {
        if (!btf && this.cache.get(sha256) === loading) this.cache.delete(sha256);
      },
      () => {
        if (this.cache.get(sha256) === loading) this.cache.delete(sha256);
      },
    );
    if (this.cache.size > this.capacity) this.cache.delete(this.cache.keys().next().value!);
    return loading;
  }

  private async load(sha256: string): Promise<Btf | null> {
    const bytes = await getBlob(this.db, sha256);
    return bytes ? Btf.parse(bytes) : null;
  }
}
