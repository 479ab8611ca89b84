export { type ClusterNode, connectRedis, parseClusterNode, type RedisTarget } from './connect.js';
export { createConsumer } from './consumer.js';
export { queueEnv } from './env.js';
export * from './errors.js';
export { type DeadLetterReason, DLQ_FIELDS, JOB_FIELDS } from './fields.js';
export {
  DEFAULT_QUEUE_PREFIX,
  MAX_SHARDS,
  type QueueNames,
  type QueueShard,
  queueNames,
  shardFor,
  slotOf,
} from './keys.js';
export { DEFAULTS as QUEUE_DEFAULTS } from './options.js';
export { createProducer } from './producer.js';
export { defineScript, type LuaScript, runScript, type ScriptRunner } from './scripts/define-script.js';
export { METRIC as QUEUE_METRICS } from './semconv.js';
export type {
  Consumer,
  ConsumerHooks,
  ConsumerOptions,
  JobInput,
  JobMessage,
  Producer,
  ProducerOptions,
  QueueLogger,
  QueueMetricsOptions,
  QueueStats,
  RedisClient,
} from './types.js';
