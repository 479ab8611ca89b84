import { isIP } from 'node:net';
import { z } from 'zod';
import { parseAllowList } from './callback-url.js';

/** An integer from an env string, with bounds. */
export const envInt = (min: number, max: number = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number({ error: 'expected a whole number' })
    .int({ error: 'expected a whole number' })
    .min(min, { error: `expected at least ${min}` })
    .max(max, { error: `expected at most ${max}` });

/** A TCP port (0 lets the OS choose one). */
export const envPort = () => envInt(0, 65_535);

/** `true/false/1/0/yes/no` from an env string. */
export const envBool = () =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** A comma-separated list, trimmed, empties dropped. */
export const envList = () =>
  z.string().transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

/** A URL with one of the given protocols (e.g. `['redis:', 'rediss:']`). */
export const envUrl = (protocols: readonly string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { error: `expected a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
  );

/** An interface to listen on: an IP address (`127.0.0.1`, `0.0.0.0`, `::`) or a host name. */
export const envHost = () =>
  z
    .string()
    .trim()
    .refine(
      (v) =>
        isIP(v) !== 0 ||
        /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(v),
      {
        error: 'expected an IP address (127.0.0.1, 0.0.0.0, ::) or a host name',
      },
    );

/**
 * CALLBACK_ALLOWED_HOSTS: a comma-separated list of host names, IP addresses
 * and CIDR ranges, each optionally with a port (see `AllowRule`); every bad
 * entry is reported.
 */
export const envCallbackAllowList = () =>
  envList().superRefine((entries, ctx) => {
    for (const problem of parseAllowList(entries).problems)
      ctx.addIssue({ code: 'custom', message: problem });
  });
