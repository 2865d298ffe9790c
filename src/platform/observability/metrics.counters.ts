import { Counter, type Metric } from 'prom-client';

/*
 * Counters incremented from deep inside the messaging and saga code. They are plain module-level
 * objects (per process, like prom-client's default metrics) so those services need no new
 * constructor dependency; each app's MetricsService registers them in its own registry
 * (`registers: []`: they belong to no registry until then).
 */

/** Messages this process sent to the DLQ, by the consumer group that gave up and the topic it read. */
export const deadLetteredMessages = new Counter({
  name: 'order_flow_dlq_messages_total',
  help: 'Messages dead-lettered by this process, by consumer group and origin topic',
  labelNames: ['consumer_group', 'topic'] as const,
  registers: [],
});

/** Saga commands sent again (attempt > 1) after a timeout or a transient rejection, by step. */
export const sagaStepRetries = new Counter({
  name: 'order_flow_saga_retries_total',
  help: 'Saga step commands re-sent after a timeout or a transient failure, by step',
  labelNames: ['step'] as const,
  registers: [],
});

export const sagaStalledOrders = new Counter({
  name: 'order_flow_saga_stalled_orders_total',
  help: 'Orders found stalled in a status without a step deadline (RECEIVED, PAYMENT_COMPLETED) and driven on by the sweeper, by status',
  labelNames: ['status'] as const,
  registers: [],
});

export const sagaCompensationsStuck = new Counter({
  name: 'order_flow_saga_compensations_stuck_total',
  help: 'Compensations that ran out of attempts and were set aside for operators (GET /api/admin/saga/stuck-steps), by step',
  labelNames: ['step'] as const,
  registers: [],
});

export const sagaDeadlinesDeferred = new Counter({
  name: 'order_flow_saga_deadlines_deferred_total',
  help: 'Step deadlines moved on because the command had not reached its system module yet, or its answer was still in our own pipeline, by reason',
  labelNames: ['reason'] as const,
  registers: [],
});

export const sagaSchedulerFailures = new Counter({
  name: 'order_flow_saga_scheduler_failures_total',
  help: 'Due saga steps (or stalled orders) whose handling failed; each is retried later without holding up the others',
  registers: [],
});

/**
 * Messages the inbox recognised as already processed, by consumer group: each one a redelivery
 * (an offset commit that did not happen, a rebalance, a replay) that the inbox absorbed.
 */
export const inboxDuplicates = new Counter({
  name: 'order_flow_inbox_duplicates_total',
  help: 'Messages ignored because the inbox had already processed them, by consumer group',
  labelNames: ['consumer_group'] as const,
  registers: [],
});

/** Consumer group restarts after its consumer crashed, by consumer group. */
export const consumerRestarts = new Counter({
  name: 'order_flow_consumer_restarts_total',
  help: 'Times a consumer group was started again after its consumer stopped on an error, by consumer group',
  labelNames: ['consumer_group'] as const,
  registers: [],
});

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
