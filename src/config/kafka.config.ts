import { registerAs } from '@nestjs/config';
import { readFileSync } from 'node:fs';
import type { Env } from './env.schema.js';
import { env } from './env.js';

/** SASL credentials; the schema requires the username and password once a mechanism is set. */
function saslOf(e: Env) {
  return e.KAFKA_SASL_MECHANISM && e.KAFKA_SASL_USERNAME !== undefined && e.KAFKA_SASL_PASSWORD !== undefined
    ? { mechanism: e.KAFKA_SASL_MECHANISM, username: e.KAFKA_SASL_USERNAME, password: e.KAFKA_SASL_PASSWORD }
    : undefined;
}

function sslOf(e: Env) {
  if (!e.KAFKA_SSL) return undefined;
  return { rejectUnauthorized: e.KAFKA_SSL_REJECT_UNAUTHORIZED, ...(e.KAFKA_SSL_CA_FILE ? { ca: [readFileSync(e.KAFKA_SSL_CA_FILE, 'utf8')] } : {}) };
}

/** The topic names the settings give, by key. */
export function topicsOf(e: Env) {
  return {
    ordersIn: e.KAFKA_TOPIC_ORDERS_IN,
    ordersValidated: e.KAFKA_TOPIC_ORDERS_VALIDATED,
    orderStatus: e.KAFKA_TOPIC_ORDER_STATUS,
    inventoryUpdates: e.KAFKA_TOPIC_INVENTORY_UPDATES,
    shippingUpdates: e.KAFKA_TOPIC_SHIPPING_UPDATES,
    inventoryRequests: e.KAFKA_TOPIC_INVENTORY_REQUESTS,
    inventoryReplies: e.KAFKA_TOPIC_INVENTORY_REPLIES,
    paymentRequests: e.KAFKA_TOPIC_PAYMENT_REQUESTS,
    paymentReplies: e.KAFKA_TOPIC_PAYMENT_REPLIES,
    shippingReplies: e.KAFKA_TOPIC_SHIPPING_REPLIES,
    dlq: e.KAFKA_TOPIC_DLQ,
  };
}

export const kafkaConfig = registerAs('kafka', () => {
  const e = env();
  return {
    brokers: e.KAFKA_BROKERS.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    clientId: e.KAFKA_CLIENT_ID,
    groupPrefix: e.KAFKA_GROUP_PREFIX,
    partitions: e.KAFKA_TOPIC_PARTITIONS,
    replicationFactor: e.KAFKA_REPLICATION_FACTOR,
    createTopics: e.KAFKA_CREATE_TOPICS,
    dlqRetentionHours: e.KAFKA_DLQ_RETENTION_HOURS,
    partitionsConsumedConcurrently: e.KAFKA_PARTITIONS_CONSUMED_CONCURRENTLY,
    consumerBatchSize: e.KAFKA_CONSUMER_BATCH_SIZE,
    fetchMinBytes: e.KAFKA_FETCH_MIN_BYTES,
    fetchMaxWaitMs: e.KAFKA_FETCH_MAX_WAIT_MS,
    consumerMaxAttempts: e.CONSUMER_MAX_ATTEMPTS,
    inboxRetentionHours: e.INBOX_RETENTION_HOURS,
    inboxPruneIntervalMs: e.INBOX_PRUNE_INTERVAL_MS,
    consumerDeadAfterMs: e.CONSUMER_DEAD_AFTER_S * 1000,
    chaosKillAfterDbCommit: e.CHAOS_KILL_AFTER_DB_COMMIT,
    sasl: saslOf(e),
    ssl: sslOf(e),
    topics: topicsOf(e),
  };
});
export type KafkaConfig = ReturnType<typeof kafkaConfig>;
export type TopicKey = keyof KafkaConfig['topics'];
