import { Counter, Histogram, type Metric } from 'prom-client';

/*
 * Counters and histograms observed from deep inside the messaging and saga code. They are plain
 * module-level objects (per process, like prom-client's default metrics) so those services need no
 * new constructor dependency; each app's MetricsService registers them in its own registry
 * (`registers: []`: they belong to no registry until then). Observing one is in-process only: no
 * metric costs the hot path a database or network round trip.
 */

function processCounter<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
  return new Counter({ name, help, labelNames, registers: [] });
}

function processHistogram<L extends string = never>(name: string, help: string, labelNames: readonly L[], buckets: number[]): Histogram<L> {
  return new Histogram({ name, help, labelNames, buckets, registers: [] });
}

/** Sub-millisecond to ten seconds: a consumer batch's transaction, a Kafka send. */
const FAST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Tens of milliseconds to an hour: a saga step's answer, an order's way through the saga (retries, timeouts and all). */
const SLOW_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/** How a consumer group's message ended up: each is one observation of the handling duration. */
export type MessageOutcome = 'processed' | 'duplicate' | 'ignored' | 'retried' | 'dead_lettered';

/**
 * From the start of a message's batch to its outcome. The messages of a batch share one transaction,
 * so they share its duration; a batch that failed and ran again message by message counts that too.
 */
export const messageHandlingDuration = processHistogram(
  'order_flow_message_handling_duration_seconds',
  'Time from the start of a consumed message batch to each message outcome, by consumer group, topic and outcome (processed, duplicate, ignored, retried, dead_lettered)',
  ['group', 'topic', 'outcome'],
  FAST_BUCKETS,
);

/** One Kafka send of the outbox relay (a pass's batch, or one refused message found among it). */
export const outboxPublishDuration = processHistogram('order_flow_outbox_publish_duration_seconds', 'Duration of each Kafka send of the outbox relay', [], FAST_BUCKETS);

/** `refused`: the broker refused a message for what it is (it gets parked); `transient`: anything else (the rows stay and are retried). */
export const outboxPublishFailures = processCounter('order_flow_outbox_publish_failures_total', 'Kafka sends of the outbox relay that failed, by reason (transient, refused)', [
  'reason',
]);

/** Orders that reached a terminal status in a transaction of this process, from their creation. */
export const orderDuration = processHistogram(
  'order_flow_order_duration_seconds',
  'Time from an order being accepted to its terminal status, observed when the saga records that status, by status',
  ['status'],
  SLOW_BUCKETS,
);

/**
 * Terminal transitions the saga of this process committed, by status: with order_flow_orders (the
 * statuses in flight) this is the count by status that costs no query (docs/architecture.md §10).
 */
export const ordersFinished = processCounter('order_flow_orders_finished_total', 'Orders that reached a terminal status in this process, by status', ['status']);

/** One attempt of a saga step: its command staged, then its reply applied or its deadline passed. */
export const sagaStepDuration = processHistogram(
  'order_flow_saga_step_duration_seconds',
  'Time from a saga step command being staged to its reply being applied (or its deadline passing), by step and outcome (succeeded, failed, timed_out)',
  ['step', 'outcome'],
  SLOW_BUCKETS,
);

/** Every join of a consumer group by this process: the first, and each after a rebalance or restart. */
export const consumerRebalances = processCounter(
  'order_flow_kafka_consumer_rebalances_total',
  'Consumer group joins (the first and every rebalance) seen by this process, by group',
  ['group'],
);

/** Messages this process sent to the DLQ, by the consumer group that gave up and the topic it read. */
export const deadLetteredMessages = processCounter('order_flow_dlq_messages_total', 'Messages dead-lettered by this process, by consumer group and origin topic', [
  'consumer_group',
  'topic',
]);

/** Saga commands sent again (attempt > 1) after a timeout or a transient rejection, by step. */
export const sagaStepRetries = processCounter('order_flow_saga_retries_total', 'Saga step commands re-sent after a timeout or a transient failure, by step', ['step']);

export const sagaStalledOrders = processCounter(
  'order_flow_saga_stalled_orders_total',
  'Orders found stalled in a status without a step deadline (RECEIVED, PAYMENT_COMPLETED) and driven on by the sweeper, by status',
  ['status'],
);

export const sagaCompensationsStuck = processCounter(
  'order_flow_saga_compensations_stuck_total',
  'Compensations that ran out of attempts and were set aside for operators (GET /api/admin/saga/stuck-steps), by step',
  ['step'],
);

export const sagaDeadlinesDeferred = processCounter(
  'order_flow_saga_deadlines_deferred_total',
  'Step deadlines moved on because the command had not reached its system module yet, or its answer was still in our own pipeline, by reason',
  ['reason'],
);

export const sagaSchedulerFailures = processCounter(
  'order_flow_saga_scheduler_failures_total',
  'Due saga steps (or stalled orders) whose handling failed; each is retried later without holding up the others',
);

/**
 * Messages the inbox recognised as already processed, by consumer group: each one a redelivery
 * (an offset commit that did not happen, a rebalance, a replay) that the inbox absorbed.
 */
export const inboxDuplicates = processCounter('order_flow_inbox_duplicates_total', 'Messages ignored because the inbox had already processed them, by consumer group', [
  'consumer_group',
]);

/** Consumer group restarts after its consumer crashed, by consumer group. */
export const consumerRestarts = processCounter(
  'order_flow_consumer_restarts_total',
  'Times a consumer group was started again after its consumer stopped on an error, by consumer group',
  ['consumer_group'],
);

/** Reads of the order read cache (ADR 0011): `error` is a read that went to the database because Redis failed. */
export const statusCacheRequests = processCounter('order_flow_status_cache_requests_total', 'Reads of the order read cache (status and whole order), by result (hit, miss, error)', [
  'result',
]);

/** Every failed or timed-out Redis command of the order read cache (reads, fills and invalidations). */
export const statusCacheErrors = processCounter('order_flow_status_cache_errors_total', 'Redis commands of the order read cache that failed or timed out');

export const PROCESS_METRICS: ReadonlyArray<Metric<string>> = [
  messageHandlingDuration,
  outboxPublishDuration,
  outboxPublishFailures,
  orderDuration,
  ordersFinished,
  sagaStepDuration,
  consumerRebalances,
  deadLetteredMessages,
  sagaStepRetries,
  sagaStalledOrders,
  sagaCompensationsStuck,
  sagaDeadlinesDeferred,
  sagaSchedulerFailures,
  inboxDuplicates,
  consumerRestarts,
  statusCacheRequests,
  statusCacheErrors,
];
