/** A configuration variable is malformed; the message is one line naming the variable and what it expects. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG_INVALID';
  constructor(
    readonly variable: string,
    readonly expected: string,
    received: string | undefined,
  ) {
    super(`invalid ${variable}: expected ${expected}, got ${JSON.stringify(received ?? '')}`);
  }
}
