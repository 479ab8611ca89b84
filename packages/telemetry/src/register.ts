/**
 * `node --import @media-cluster/telemetry/register dist/index.js`
 *
 * Starts the OpenTelemetry SDK before the application is loaded, so http,
 * express, ioredis, pg and pino are instrumented when the app imports them.
 * With OTEL_SDK_DISABLED=true nothing is loaded or hooked at all, and worker
 * threads never start an SDK of their own. It never handles signals: services
 * call shutdownTelemetry() last on SIGTERM.
 */
import { isMainThread } from 'node:worker_threads';
import { isSdkDisabled } from './sdk-disabled.js';

// `--import` runs again in every worker thread (the embedder pool's threads):
// only the main thread gets an SDK. A second SDK per thread would start its own
// exporters, resource detection and loader hook, and trace nothing useful.
if (isMainThread && !isSdkDisabled()) {
  const { register } = await import('node:module');
  const { createAddHookMessageChannel } = await import('import-in-the-middle');
  // The ESM loader hook then wraps only the modules an instrumentation asked
  // for, instead of every module the app imports.
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);
  const { startTelemetry } = await import('./start-telemetry.js');
  startTelemetry();
  await waitForAllMessagesAcknowledged();
}
