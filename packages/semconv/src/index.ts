// The telemetry vocabulary of the project, once: api, worker, queue and telemetry import it.
export * from './attributes.js';
export * from './metrics.js';
export * from './spans.js';
