import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { interpolate, parseDotEnv } from '../src/compose-env.js';
import { REPO_ROOT } from '../src/repo-paths.js';

export { REPO_ROOT };

export const repoPath = (...parts: string[]) => join(REPO_ROOT, ...parts);
export const readRepoFile = (...parts: string[]) => readFileSync(repoPath(...parts), 'utf8');
export const repoFileExists = (...parts: string[]) => existsSync(repoPath(...parts));

/** YAML with merge keys (`<<: *anchor`) resolved, as compose reads it. */
export const parseYaml = <T = unknown>(text: string): T => parse(text, { merge: true }) as T;

export const dotEnv = () => parseDotEnv(readRepoFile('.env'));

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string; args?: Record<string, string> } | string;
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null>;
  ports?: (string | { target: number; published?: string })[];
  expose?: (string | number)[];
  volumes?: (string | { type: string; source?: string; target: string })[];
  healthcheck?: { test: string | string[]; disable?: boolean };
  depends_on?: Record<string, { condition: string }> | string[];
  deploy?: { resources?: { limits?: { memory?: string } }; replicas?: number };
  mem_limit?: string;
  restart?: string;
  container_name?: string;
  init?: boolean;
  user?: string;
  stop_grace_period?: string;
}

export interface ComposeFile {
  name?: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** docker-compose.yml as written (no interpolation). */
export const rawCompose = () => parseYaml<ComposeFile>(readRepoFile('docker-compose.yml'));

/** docker-compose.yml after `.env` interpolation, as `docker compose` sees it. */
export function resolvedCompose(): ComposeFile {
  const { text } = interpolate(readRepoFile('docker-compose.yml'), dotEnv());
  return parseYaml<ComposeFile>(text);
}

/** "512M", "1.5G", "1536m" -> bytes (compose byte units are powers of 1024). */
export function bytes(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)b?$/i.exec(value.trim());
  if (!m) throw new Error(`not a byte value: ${value}`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? '').toLowerCase()] ?? 1;
  return Number(m[1]) * unit;
}
