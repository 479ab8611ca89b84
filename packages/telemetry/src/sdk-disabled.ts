/** Same rule as the OTel SDK: only the string `true` (any case) disables it. */
export function isSdkDisabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true';
}
