import type { AlertKernel } from './alert.ts';
import { compareDebianVersions } from './versions.ts';

/**
 * The kABI stream of a RHEL-family kernel release (RHEL, CentOS Stream, Alma, Rocky: `5.14.0-427.13.1.el9_4.x86_64`):
 * the upstream version, the `elN` major and the variant (`+rt`, `+debug`). Within a stream, weak-modules links a kmod
 * built for one kernel into every later kernel whose exported CRCs still satisfy it (`/lib/modules/<rel>/weak-updates`).
 * Null for other distributions: they rebuild out-of-tree modules per kernel (akmods, DKMS) instead.
 */
export function kabiStream(release: string): string | null {
  const m =
    /^(\d+\.\d+\.\d+)-\d+(?:\.\d+)*\.(el\d+)(?:_\d+)?(?:\.(?:x86_64|aarch64|ppc64le|s390x))?(\+[a-z0-9_]+)?$/.exec(
      release,
    );
  return m ? `${m[1]}-*.${m[2]}${m[3] ?? ''}` : null;
}

/**
 * Whether weak-updates links kmods built for `built` into `target`: another, newer kernel of the same kABI stream.
 * Whether a kmod's imported CRCs are satisfied is the module's ABI verdict on `target`, judged per module.
 */
export function isWeakUpdatesPair(built: AlertKernel, target: AlertKernel): boolean {
  const stream = kabiStream(built.release);
  return (
    stream !== null &&
    stream === kabiStream(target.release) &&
    built.release !== target.release &&
    compareDebianVersions(target.version, built.version) > 0
  );
}
