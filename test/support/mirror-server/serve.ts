/**
 * The loopback mirror as its own process, for benches that must not count its memory or event loop as
 * theirs: `node --import tsx test/support/mirror-server/serve.ts '<MirrorSpec JSON>'` prints one JSON line
 * `{ url, aptUrl, rpmUrl, publicKeyPath, armoredPublicKeyPath }` once it listens, serves until stdin
 * closes (or SIGTERM), then removes everything.
 */
import { startMirror, type MirrorSpec } from './index.ts';

const spec = JSON.parse(process.argv[2] ?? '{}') as MirrorSpec;
const mirror = await startMirror(spec);
let closing = false;
const close = () => {
  if (closing) return;
  closing = true;
  void mirror.close().then(() => process.exit(0));
};
process.on('SIGTERM', close);
process.stdin.on('end', close);
process.stdin.on('close', close);
process.stdin.resume();
process.stdout.write(
  `${JSON.stringify({
    url: mirror.url,
    aptUrl: mirror.aptUrl,
    rpmUrl: mirror.rpmUrl,
    publicKeyPath: mirror.key.publicKeyPath,
    armoredPublicKeyPath: mirror.key.armoredPublicKeyPath,
  })}\n`,
);
