export declare const repoRoot: string;
export declare const fixturesDir: string;
export declare const btfFixturesDir: string;
/** Releases with committed BTF fixtures (see test/fixtures/btf/regenerate.sh). */
export declare const RELEASES: {
    readonly bookworm55: "6.1.0-55-amd64";
    readonly bookworm56: "6.1.0-56-amd64";
    readonly trixie: "6.12.117+deb13-amd64";
    readonly sid: "7.2.13+deb14-amd64";
};
/** Decompressed bytes of an `.xz` fixture under test/fixtures/btf, checked against MANIFEST. */
export declare function btfFixture(relative: string): Buffer;
export declare function vmlinuxBtf(release: string): Buffer;
/** Module file names (e.g. `overlay.ko`) available for a release. */
export declare function moduleNames(release: string): string[];
/** The module ELF bytes (decompressed). */
export declare function moduleElf(release: string, name: string): Buffer;
/** Path of a module fixture as committed (`.ko.xz`), for tools that read compressed modules. */
export declare function modulePath(release: string, name: string): string;
//# sourceMappingURL=fixtures.d.ts.map