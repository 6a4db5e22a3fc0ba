/**
 * The flavour in a Debian release string: 6.1.0-56-amd64 → amd64, 6.1.0-56-cloud-amd64 → cloud-amd64,
 * 6.12.117+deb13-rt-amd64 → rt-amd64. Releases of other shapes (Fedora's 6.11.4-301.fc41.x86_64) have none.
 */
export function releaseFlavour(release: string): string | null {
  const m = /^\d+\.\d+(?:\.\d+)?(?:-\d+)?(?:\+[a-z0-9.]+)?-([a-z][a-z0-9-]*)$/.exec(release);
  return m ? m[1]! : null;
}

/** Upstream kernel version: from the config header (`# Linux/x86 6.1.192 Kernel Configuration`), else the package version. */
export function upstreamVersion(configText: string | null, packageVersion: string): string | null {
  const fromConfig = configText
    ? /^# Linux\/\S+ (\d+\.\d+(?:\.\d+)?)\S* Kernel Configuration/m.exec(configText)
    : null;
  if (fromConfig) return fromConfig[1]!;
  const fromPackage = /^(?:\d+:)?(\d+\.\d+(?:\.\d+)?)/.exec(packageVersion);
  return fromPackage ? fromPackage[1]! : null;
}
