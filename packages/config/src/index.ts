export {
  type AllowRule,
  addressProblem,
  callbackUrlProblem,
  effectivePort,
  literalAddress,
  parseAllowEntry,
  parseAllowList,
} from './callback-url.js';
export { ConfigError } from './errors.js';
export { formatIp, parseIp, parseRange, specialKind } from './ip-address.js';
export { loadConfig } from './load-config.js';
export {
  envBool,
  envCallbackAllowList,
  envHost,
  envInt,
  envList,
  envPort,
  envUrl,
} from './schema-helpers.js';
