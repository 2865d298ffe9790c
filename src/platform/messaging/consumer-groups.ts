import type { TopicKey } from '../../config/kafka.config.js';

/**
 * The service's consumer groups: one per consuming module, and the process layer's intake. Each
 * symbol is the transport id of that group's Nest Kafka server (LayerKafkaServer), so
 * `@EventPattern(topic, CONSUMER_GROUPS.x)` binds a handler to exactly one group.
 */
export const CONSUMER_GROUPS = {
  process: Symbol.for('order-flow.consumer.process'),
  /**
   * The process layer's intake (orders-in) in a group of its own: kafkajs fetches again only once
   * every batch of the last fetch is done, so in the busy `process` group a new order waited for a
   * whole round of replies; here it waits for the other new orders only.
   */
  intake: Symbol.for('order-flow.consumer.intake'),
  inventory: Symbol.for('order-flow.consumer.inventory'),
  payment: Symbol.for('order-flow.consumer.payment'),
  shipping: Symbol.for('order-flow.consumer.shipping'),
} as const;
export type ConsumerGroupName = keyof typeof CONSUMER_GROUPS;

/**
 * Topics that moved from one group to another. On its first start the new group takes the old one's
 * offsets there (see inheritOffsets) rather than reading the whole retained topic again.
 */
export const GROUP_HANDOVERS: ReadonlyArray<{ topic: TopicKey; from: ConsumerGroupName; to: ConsumerGroupName }> = [{ topic: 'ordersIn', from: 'process', to: 'intake' }];
