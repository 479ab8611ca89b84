/**
 * The two things docker compose does with `.env` that the tests need to do the
 * same way: read the file, and substitute `${VAR}` references in the compose
 * file (https://docs.docker.com/compose/how-tos/environment-variables/variable-interpolation/).
 */

/** Parses a compose `.env` file: `KEY=value` lines, `#` comments, optional quotes. */
export function parseDotEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`.env: not a KEY=value line: ${raw}`);
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    const quoted = /^(['"])(.*)\1$/.exec(value);
    if (quoted) value = quoted[2] ?? '';
    else value = value.replace(/\s+#.*$/, '');
    env[key] = value;
  }
  return env;
}

export interface Interpolation {
  text: string;
  /** Variables referenced without a default and not set: compose would warn and use "". */
  missing: string[];
  /** Every variable referenced. */
  referenced: string[];
}

const REF = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/**
 * Substitutes `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?err}`, `$VAR`
 * and the `$$` escape, as compose does. Unset variables without a default
 * are reported in `missing`.
 */
export function interpolate(text: string, env: Record<string, string | undefined>): Interpolation {
  const missing = new Set<string>();
  const referenced = new Set<string>();
  const out = text.replace(REF, (match, name?: string, op?: string, arg?: string, bare?: string) => {
    if (match === '$$') return '$';
    const key = (name ?? bare) as string;
    referenced.add(key);
    const value = env[key];
    if (op === ':-') return value ? value : (arg ?? '');
    if (op === '-') return value !== undefined ? value : (arg ?? '');
    if (value === undefined || (op === ':?' && value === '')) missing.add(key);
    return value ?? '';
  });
  return { text: out, missing: [...missing], referenced: [...referenced] };
}
