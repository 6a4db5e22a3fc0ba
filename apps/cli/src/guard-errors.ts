/** Errors of `btfwatch guard`. Callers decide by `code`, never by message text. */
export type GuardErrorCode =
  /** What apt wrote on the hook's stdin does not follow its Pre-Install-Pkgs protocol. */
  | 'GUARD_BAD_HOOK_INPUT'
  /** A package file is neither a .deb nor an .rpm. */
  | 'GUARD_UNKNOWN_FORMAT'
  /** Installing or removing a hook found something it will not overwrite or cannot use. */
  | 'GUARD_INSTALL';

export class GuardError extends Error {
  readonly code: GuardErrorCode;
  constructor(code: GuardErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'GuardError';
  }
}
