import { ServerKafka, type KafkaOptions } from '@nestjs/microservices';

/**
 * One Nest Kafka server (and so one consumer group) per consuming module. The transport id is a
 * symbol per group, so `@EventPattern(topic, TRANSPORT)` binds a handler to exactly one group and
 * any subset of groups can run in one process.
 */
export class LayerKafkaServer extends ServerKafka {
  constructor(
    public override readonly transportId: symbol,
    options: NonNullable<KafkaOptions['options']>,
  ) {
    super(options);
  }
}

export const CONSUMER_GROUPS = {
  process: Symbol.for('order-flow.consumer.process'),
  inventory: Symbol.for('order-flow.consumer.inventory'),
  payment: Symbol.for('order-flow.consumer.payment'),
  shipping: Symbol.for('order-flow.consumer.shipping'),
} as const;
export type ConsumerGroupName = keyof typeof CONSUMER_GROUPS;
