/** The service's default topic names, as tests see them (docs/architecture.md §5). */

/** Topics the outbox relay publishes to (every message type's topic). */
export const OUTBOX_TOPICS = [
  'orders-in',
  'orders-validated',
  'order-status',
  'inventory-updates',
  'shipping-updates',
  'inventory-requests',
  'inventory-replies',
  'payment-requests',
  'payment-replies',
  'shipping-replies',
];

export const DLQ_TOPIC = 'dlq-orders';

/** The topics each consumer group of the service reads (the topics of its message handlers). */
export const GROUP_TOPICS: Record<string, string[]> = {
  'order-flow-intake': ['orders-in'],
  'order-flow-process': ['inventory-replies', 'payment-replies', 'orders-validated', 'shipping-replies', 'shipping-updates'],
  'order-flow-inventory': ['inventory-requests'],
  'order-flow-payment': ['payment-requests'],
  'order-flow-shipping': ['shipping-updates'],
};
