import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
export const repoRoot = new URL('../../', import.meta.url).pathname;
export const fixturesDir = join(repoRoot, 'test', 'fixtures');
export const btfFixturesDir = join(fixturesDir, 'btf');
/** Releases with committed BTF fixtures (see test/fixtures/btf/regenerate.sh). */
export const RELEASES = {
    bookworm55: '6.1.0-55-amd64',
    bookworm56: '6.1.0-56-amd64',
    trixie: '6.12.117+deb13-amd64',
    sid: '7.2.13+deb14-amd64',
};
const cache = new Map();
let manifest;
function expectedSha(relative) {
    manifest ??= new Map(readFileSync(join(btfFixturesDir, 'MANIFEST'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => {
        const [sha, path] = line.split(/\s+/);
        return [path ?? '', sha ?? ''];
    }));
    return manifest.get(relative);
}
/** Decompressed bytes of an `.xz` fixture under test/fixtures/btf, checked against MANIFEST. */
export function btfFixture(relative) {
    const key = relative.endsWith('.xz') ? relative : `${relative}.xz`;
    const hit = cache.get(key);
    if (hit)
        return hit;
    const bytes = execFileSync('xz', ['-dc', join(btfFixturesDir, key)], { maxBuffer: 1 << 30 });
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (sha !== expectedSha(key))
        throw new Error(`fixture ${key} does not match MANIFEST (regenerate?)`);
    cache.set(key, bytes);
    return bytes;
}
export function vmlinuxBtf(release) {
    return btfFixture(`${release}/vmlinux.btf.xz`);
}
/** Module file names (e.g. `overlay.ko`) available for a release. */
export function moduleNames(release) {
    return readdirSync(join(btfFixturesDir, release, 'modules'))
        .filter((f) => f.endsWith('.xz'))
        .map((f) => f.slice(0, -3))
        .sort();
}
/** The module ELF bytes (decompressed). */
export function moduleElf(release, name) {
    return btfFixture(`${release}/modules/${name}.xz`);
}
/** Path of a module fixture as committed (`.ko.xz`), for tools that read compressed modules. */
export function modulePath(release, name) {
    return join(btfFixturesDir, release, 'modules', `${name}.xz`);
}
//# sourceMappingURL=fixtures.js.map