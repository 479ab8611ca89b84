import { queueMetricNames } from '@media-cluster/semconv';
import {
  ATTR_ERROR_TYPE,
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  MESSAGING_OPERATION_TYPE_VALUE_PROCESS,
  MESSAGING_OPERATION_TYPE_VALUE_SEND,
} from '@opentelemetry/semantic-conventions/incubating';

/**
 * The telemetry vocabulary of the queue: messaging semconv names come from
 * `@opentelemetry/semantic-conventions` (never typed by hand), the project's
 * own `media_cluster.*` names from `@media-cluster/semconv`.
 */
export {
  ATTR_ERROR_TYPE,
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_DESTINATION_PARTITION_ID,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
};

/** Semconv has no value for Redis Streams; the spec says to use the product name. */
export const MESSAGING_SYSTEM_REDIS = 'redis';
export const OPERATION_SEND = MESSAGING_OPERATION_TYPE_VALUE_SEND;
export const OPERATION_PROCESS = MESSAGING_OPERATION_TYPE_VALUE_PROCESS;

/** Span names are `{operation} {destination}` (messaging semconv). */
export const sendSpanName = (stream: string) => `${OPERATION_SEND} ${stream}`;
export const processSpanName = (stream: string) => `${OPERATION_PROCESS} ${stream}`;

// The project's own names come from the vocabulary module, never typed here.
export {
  ATTR_ATTEMPT,
  ATTR_DEAD_LETTER_REASON,
  ATTR_DELIVERY_COUNT,
  ATTR_ERROR_MESSAGE,
  ATTR_JOB_ID,
  ATTR_NEXT_ATTEMPT,
  ATTR_RETRY_DELAY_MS,
  EVENT_DEAD_LETTERED,
  EVENT_OWNERSHIP_LOST,
  EVENT_REDELIVERED,
  EVENT_RETRY_SCHEDULED,
} from '@media-cluster/semconv';

/** Instrumentation scope of the queue's tracer and meter. */
export const SCOPE_NAME = '@media-cluster/queue';

/** Metric instrument names with the default prefix (the consumer and producer take `metrics.prefix`). */
export const METRIC = queueMetricNames();
