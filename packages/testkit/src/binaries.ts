import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Debian keeps PostgreSQL's server binaries off PATH, per major version. */
const EXTRA_DIRS = (): string[] => {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => join(base, v, 'bin'));
};

const INSTALL_HINT: Record<string, string> = {
  'redis-server': 'apt-get install redis-server',
  initdb: 'apt-get install postgresql',
  postgres: 'apt-get install postgresql',
  'docker-compose': 'apt-get install docker-compose',
};

/** Finds an executable on PATH (or Debian's PostgreSQL dirs); throws with an install hint. */
export function findBinary(name: string): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...EXTRA_DIRS()];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  const hint = INSTALL_HINT[name] ? ` Install it with: ${INSTALL_HINT[name]}` : '';
  throw new Error(
    `${name} not found on PATH.${hint} (npm test runs scripts/bootstrap.mjs, which installs it.)`,
  );
}
