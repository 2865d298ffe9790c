import type { TopicKey } from '../../config/kafka.config.js';

/**
 * The service's consumer groups: one per consuming module, and the process layer's intake. The
 * group id is `${KAFKA_GROUP_PREFIX}-${name}`.
 */
export const CONSUMER_GROUP_NAMES = [
  'process',
  // The process layer's intake (orders-in) in a group of its own: kafkajs fetches again only once
  // every batch of the last fetch is done, so in the busy `process` group a new order waited for a
  // whole round of replies; here it waits for the other new orders only.
  'intake',
  'inventory',
  'payment',
  'shipping',
] as const;
export type ConsumerGroupName = (typeof CONSUMER_GROUP_NAMES)[number];

/**
 * Topics that moved from one group to another. On its first start the new group takes the old one's
 * offsets there (see inheritOffsets) rather than reading the whole retained topic again.
 */
export const GROUP_HANDOVERS: ReadonlyArray<{ topic: TopicKey; from: ConsumerGroupName; to: ConsumerGroupName }> = [{ topic: 'ordersIn', from: 'process', to: 'intake' }];
