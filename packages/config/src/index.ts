export { callbackUrlProblem } from './callback-url.js';
export { ConfigError } from './errors.js';
export { loadConfig } from './load-config.js';
export { envBool, envHost, envInt, envList, envPort, envUrl } from './schema-helpers.js';
