// The loopback apt mirror of test/support/mirror-server, for benches. bench/ is its own TypeScript
// project and cannot import test/ sources statically (they sit outside its rootDir), so the module is
// loaded by a computed path and typed by the part of its surface the benches use.

export interface BenchMirror {
  /** Archive root to give the scanner (`<url>/debian/`). */
  aptUrl: string;
  key: { armoredPublicKeyPath: string };
  update(spec: { apt: { suites: Record<string, { packages: string[] }> } }): Promise<void>;
  close(): Promise<void>;
}

interface MirrorModule {
  startMirror(spec: { apt: { suites: Record<string, { packages: string[] }> } }): Promise<BenchMirror>;
}

const mirrorServer = new URL('../../test/support/mirror-server/index.ts', import.meta.url).href;

/** Serves `packages` as one signed apt suite on 127.0.0.1 (port 0). */
export async function startAptMirror(suite: string, packages: string[]): Promise<BenchMirror> {
  const mod = (await import(mirrorServer)) as MirrorModule;
  return mod.startMirror({ apt: { suites: { [suite]: { packages } } } });
}
