import { Btf } from '@btfwatch/btf';
import { getBlob, type Database } from '@btfwatch/db';

/** Parsed base BTFs by sha256, most recently used kept (a vmlinux parses in tens of ms; a few fit easily). */
export class BaseCache {
  private readonly cache = new Map<string, Btf>();
  constructor(
    private readonly db: Database,
    private readonly capacity = 8,
  ) {}

  async get(sha256: string): Promise<Btf | null> {
    const hit = this.cache.get(sha256);
    if (hit) {
      this.cache.delete(sha256);
      this.cache.set(sha256, hit);
      return hit;
    }
    const bytes = await getBlob(this.db, sha256);
    if (!bytes) return null;
    const btf = Btf.parse(bytes);
    this.cache.set(sha256, btf);
    if (this.cache.size > this.capacity) this.cache.delete(this.cache.keys().next().value!);
    return btf;
  }
}
