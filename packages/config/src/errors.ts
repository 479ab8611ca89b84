/** Thrown by {@link loadConfig} when one or more environment keys are invalid. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  /** One line per bad key: `KEY: what was expected (got "value")`. */
  readonly issues: readonly string[];

  constructor(issues: readonly string[], options?: { cause?: unknown }) {
    super(`Invalid configuration:\n  - ${issues.join('\n  - ')}`, options);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}
