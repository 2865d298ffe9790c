import { Counter, type Metric } from 'prom-client';

/*
 * Counters incremented from deep inside the messaging and saga code. They are plain module-level
 * objects (per process, like prom-client's default metrics) so those services need no new
 * constructor dependency; each app's MetricsService registers them in its own registry
 * (`registers: []`: they belong to no registry until then).
 */

function processCounter<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
  return new Counter({ name, help, labelNames, registers: [] });
}

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

export const PROCESS_COUNTERS: ReadonlyArray<Metric<string>> = [
  deadLetteredMessages,
  sagaStepRetries,
  sagaStalledOrders,
  sagaCompensationsStuck,
  sagaDeadlinesDeferred,
  sagaSchedulerFailures,
  inboxDuplicates,
  consumerRestarts,
];
