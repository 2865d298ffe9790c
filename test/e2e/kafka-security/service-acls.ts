import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes, type AclEntry } from 'kafkajs';
import { DLQ_TOPIC, GROUP_TOPICS, OUTBOX_TOPICS } from '../../support/topics.js';

/**
 * The ACLs of one principal running every layer of the service (docs/kafka-acls.md, "all-in-one"),
 * with the default topic names and KAFKA_GROUP_PREFIX=order-flow. Topics are pre-created by an
 * operator (KAFKA_CREATE_TOPICS=false), so no CREATE.
 */

/** Topics the consumer groups read (process: 6, inventory/payment/shipping: 1 each). */
export const CONSUMED_TOPICS = [...new Set(Object.values(GROUP_TOPICS).flat())];

/** Topics the service writes: the outbox relay publishes every message type, every consumer may write the DLQ. */
export const PRODUCED_TOPICS = [...OUTBOX_TOPICS, DLQ_TOPIC];

export const ALL_TOPICS = [...new Set([...PRODUCED_TOPICS, ...CONSUMED_TOPICS])];

export const GROUP_PREFIX = 'order-flow-';

/** The KAFKA_TOPIC_* variable of each default topic name (src/config/env.schema.ts). */
export const TOPIC_ENV: Record<string, string> = {
  'orders-in': 'KAFKA_TOPIC_ORDERS_IN',
  'orders-validated': 'KAFKA_TOPIC_ORDERS_VALIDATED',
  'order-status': 'KAFKA_TOPIC_ORDER_STATUS',
  'inventory-updates': 'KAFKA_TOPIC_INVENTORY_UPDATES',
  'shipping-updates': 'KAFKA_TOPIC_SHIPPING_UPDATES',
  'inventory-requests': 'KAFKA_TOPIC_INVENTORY_REQUESTS',
  'inventory-replies': 'KAFKA_TOPIC_INVENTORY_REPLIES',
  'payment-requests': 'KAFKA_TOPIC_PAYMENT_REQUESTS',
  'payment-replies': 'KAFKA_TOPIC_PAYMENT_REPLIES',
  'shipping-replies': 'KAFKA_TOPIC_SHIPPING_REPLIES',
  'dlq-orders': 'KAFKA_TOPIC_DLQ',
};

/**
 * options.topicPrefix: the topics are renamed `${topicPrefix}${default name}` (with the KAFKA_TOPIC_* variables).
 * options.createTopics: the service runs with KAFKA_CREATE_TOPICS=true, so it also needs CREATE on every topic
 * (DESCRIBE, needed to see them and wait for their leaders, is implied by the WRITE on every topic).
 */
export function serviceAcls(principal: string, options: { topicPrefix?: string; createTopics?: boolean } = {}): AclEntry[] {
  const topic = (name: string) => `${options.topicPrefix ?? ''}${name}`;
  const allow = (resourceType: AclResourceTypes, resourcePatternType: ResourcePatternTypes, resourceName: string, operation: AclOperationTypes): AclEntry => ({
    principal: `User:${principal}`,
    host: '*',
    resourceType,
    resourcePatternType,
    resourceName,
    operation,
    permissionType: AclPermissionTypes.ALLOW,
  });
  return [
    // READ implies DESCRIBE (metadata, ListOffsets, OffsetFetch), WRITE implies DESCRIBE.
    ...CONSUMED_TOPICS.map((t) => allow(AclResourceTypes.TOPIC, ResourcePatternTypes.LITERAL, topic(t), AclOperationTypes.READ)),
    ...PRODUCED_TOPICS.map((t) => allow(AclResourceTypes.TOPIC, ResourcePatternTypes.LITERAL, topic(t), AclOperationTypes.WRITE)),
    // The operator routes (/api/admin/dead-letters) read the DLQ, in a group under the prefix below.
    allow(AclResourceTypes.TOPIC, ResourcePatternTypes.LITERAL, topic(DLQ_TOPIC), AclOperationTypes.READ),
    ...(options.createTopics ? ALL_TOPICS.map((t) => allow(AclResourceTypes.TOPIC, ResourcePatternTypes.LITERAL, topic(t), AclOperationTypes.CREATE)) : []),
    // order-flow-intake, -process, -inventory, -payment, -shipping (and the DLQ readers' order-flow-dlq-reader-<uuid>):
    // join, sync, heartbeat, commit and fetch offsets.
    allow(AclResourceTypes.GROUP, ResourcePatternTypes.PREFIXED, GROUP_PREFIX, AclOperationTypes.READ),
    // kafkajs idempotent producer: InitProducerId (Kafka >= 2.8 also accepts WRITE on any topic instead, KIP-679).
    allow(AclResourceTypes.CLUSTER, ResourcePatternTypes.LITERAL, 'kafka-cluster', AclOperationTypes.IDEMPOTENT_WRITE),
  ];
}
