/**
 * The application metrics agreed for issue 21 (with the ones that existed before it): the dashboard
 * and the alert rules may name only these, so a misspelt name cannot silently match nothing.
 */
export const AGREED_METRICS = [
  'order_flow_http_request_duration_seconds',
  'order_flow_message_handling_duration_seconds',
  'order_flow_outbox_publish_duration_seconds',
  'order_flow_outbox_publish_failures_total',
  'order_flow_outbox_oldest_unpublished_age_seconds',
  'order_flow_order_duration_seconds',
  'order_flow_saga_step_duration_seconds',
  'order_flow_kafka_consumer_lag',
  'order_flow_kafka_consumer_rebalances_total',
  'order_flow_kafka_consumer_group_up',
  'order_flow_orders_overdue',
  'order_flow_orders',
  'order_flow_dlq_messages_total',
] as const;

/** Metrics from before issue 21 that the dashboard keeps showing. */
export const EARLIER_METRICS = [
  'order_flow_saga_retries_total',
  'order_flow_saga_steps_waiting',
  'order_flow_outbox_backlog_messages',
  'order_flow_metrics_collect_errors_total',
  'order_flow_nodejs_eventloop_active_seconds_total',
] as const;

/** The `order_flow_` metric families a PromQL expression names (histogram series mapped to their family). */
export function metricFamilies(expr: string): string[] {
  const names = [...expr.matchAll(/\border_flow_[a-z_]+/g)].map((m) => m[0]);
  return [...new Set(names.map((n) => n.replace(/_(bucket|count|sum)$/, '')))];
}
