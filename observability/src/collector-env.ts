/**
 * `${env:VAR}` / `${env:VAR:-default}` as the collector's (and Jaeger v2's) config
 * resolver expands them, so tests can read otel-collector-config.yaml and
 * observability/jaeger/config.yaml the way each runner sees them: compose with its
 * environment, the tests and `pnpm stack` with theirs, anyone with the defaults.
 */
const ENV_REF = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface EnvRef {
  name: string;
  /** The `:-default`, when there is one. */
  fallback: string | undefined;
}

/** Every `${env:...}` reference in `text` (comments included). */
export function collectorEnvRefs(text: string): EnvRef[] {
  return [...text.matchAll(ENV_REF)].map((m) => ({ name: m[1]!, fallback: m[2] }));
}

/** Expands the references with `env`; unset variables take their default, or "" without one. */
export function expandCollectorEnv(text: string, env: Readonly<Record<string, string | undefined>>): string {
  return text.replace(ENV_REF, (_m, name: string, fallback?: string) => {
    const value = env[name];
    return value !== undefined && value !== '' ? value : (fallback ?? '');
  });
}
