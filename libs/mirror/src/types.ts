import type { Evidence, Role } from './classify.ts';
import type { Signer } from './signature.ts';

/** A package worth fetching, as listed by the (verified) index. */
export interface Candidate {
  name: string;
  /** apt: the Version field; rpm: `[epoch:]version-release`. */
  version: string;
  arch: string;
  /** The source package (apt `Source`, rpm `sourcerpm` without `.src.rpm`), defaulting to the binary's own. */
  source: { name: string; version: string };
  /** apt: Pre-Depends then Depends clauses as written; rpm: requires entries (`name op [epoch:]ver-rel`). */
  depends: string[];
  /** apt: Provides clauses; rpm: provides entries. */
  provides: string[];
  /** Absolute URL of the package file. */
  url: string;
  /** Path relative to the repository root (apt `Filename`, rpm location href). */
  path: string;
  size: number;
  /** Installed size in bytes when the index says (apt gives KiB; converted). */
  installedSize: number | undefined;
  sha256: string;
  role: Role;
  evidence: Evidence;
  /** `uname -r` strings seen in the package's kernel paths (empty when selected by name). */
  releases: string[];
  /** apt component or rpm repo-relative directory this came from. */
  component: string | undefined;
  /** The sha256 is in the caller's known set: there is nothing to download. */
  known: boolean;
}

export interface SignatureReport {
  /** A signature by a keyring key was checked and is good. */
  verified: boolean;
  /** Checking was switched off for this mirror by `insecure: true`. */
  insecure: boolean;
  /** What was checked: `InRelease`, `Release.gpg`, `repomd.xml.asc`, or `none` when insecure. */
  source: 'InRelease' | 'Release.gpg' | 'repomd.xml.asc' | 'none';
  signers: Signer[];
  unknownKeyIds: string[];
}

/** Validators of one conditional GET, kept by the caller between scans. */
export interface ConditionalState {
  etag?: string | undefined;
  lastModified?: string | undefined;
  /** sha256 of the bytes last processed. */
  sha256: string;
}

/** Package hashes the caller already has; such packages are listed with `known: true` and never fetched. */
export type KnownSet = ReadonlySet<string> | readonly string[];

export function toKnownSet(known: KnownSet | undefined): ReadonlySet<string> {
  if (known === undefined) return new Set();
  return known instanceof Set ? known : new Set(known as readonly string[]);
}
