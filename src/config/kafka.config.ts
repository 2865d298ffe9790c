import { registerAs } from '@nestjs/config';
import { readFileSync } from 'node:fs';
import { env } from './env.js';

export const kafkaConfig = registerAs('kafka', () => {
  const e = env();
  const sasl = e.KAFKA_SASL_MECHANISM
    ? {
        mechanism: e.KAFKA_SASL_MECHANISM as 'scram-sha-512' | 'scram-sha-256' | 'plain',
        username: e.KAFKA_SASL_USERNAME as string,
        password: e.KAFKA_SASL_PASSWORD as string,
      }
    : undefined;
  const ssl = e.KAFKA_SSL
    ? {
        rejectUnauthorized: e.KAFKA_SSL_REJECT_UNAUTHORIZED as boolean,
        ...(e.KAFKA_SSL_CA_FILE ? { ca: [readFileSync(e.KAFKA_SSL_CA_FILE as string, 'utf8')] } : {}),
      }
    : undefined;
  return {
    brokers: String(e.KAFKA_BROKERS)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    clientId: e.KAFKA_CLIENT_ID as string,
    groupPrefix: e.KAFKA_GROUP_PREFIX as string,
    partitions: e.KAFKA_TOPIC_PARTITIONS as number,
    replicationFactor: e.KAFKA_REPLICATION_FACTOR as number,
    createTopics: e.KAFKA_CREATE_TOPICS as boolean,
    partitionsConsumedConcurrently: e.KAFKA_PARTITIONS_CONSUMED_CONCURRENTLY as number,
    consumerBatchSize: e.KAFKA_CONSUMER_BATCH_SIZE as number,
    fetchMinBytes: e.KAFKA_FETCH_MIN_BYTES as number,
    fetchMaxWaitMs: e.KAFKA_FETCH_MAX_WAIT_MS as number,
    consumerMaxAttempts: e.CONSUMER_MAX_ATTEMPTS as number,
    inboxRetentionHours: e.INBOX_RETENTION_HOURS as number,
    inboxPruneIntervalMs: e.INBOX_PRUNE_INTERVAL_MS as number,
    consumerDeadAfterMs: (e.CONSUMER_DEAD_AFTER_S as number) * 1000,
    chaosKillAfterDbCommit: e.CHAOS_KILL_AFTER_DB_COMMIT as number,
    sasl,
    ssl,
    topics: {
      ordersIn: e.KAFKA_TOPIC_ORDERS_IN as string,
      ordersValidated: e.KAFKA_TOPIC_ORDERS_VALIDATED as string,
      orderStatus: e.KAFKA_TOPIC_ORDER_STATUS as string,
      inventoryUpdates: e.KAFKA_TOPIC_INVENTORY_UPDATES as string,
      shippingUpdates: e.KAFKA_TOPIC_SHIPPING_UPDATES as string,
      inventoryRequests: e.KAFKA_TOPIC_INVENTORY_REQUESTS as string,
      inventoryReplies: e.KAFKA_TOPIC_INVENTORY_REPLIES as string,
      paymentRequests: e.KAFKA_TOPIC_PAYMENT_REQUESTS as string,
      paymentReplies: e.KAFKA_TOPIC_PAYMENT_REPLIES as string,
      shippingReplies: e.KAFKA_TOPIC_SHIPPING_REPLIES as string,
      dlq: e.KAFKA_TOPIC_DLQ as string,
    },
  };
});
export type KafkaConfig = ReturnType<typeof kafkaConfig>;
export type TopicKey = keyof KafkaConfig['topics'];
