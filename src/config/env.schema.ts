import Joi from 'joi';
import { authEnvSchema } from './auth.env.js';
import { sagaEnvSchema } from './saga.env.js';
import { simulationEnvSchema } from './simulation.env.js';

/**
 * Every environment variable the service reads, validated once at boot.
 * A missing or malformed value stops the process with a message naming the variable,
 * never a surprise at the first request. Keep `.env.example` in step with this file.
 */
export const envSchema = Joi.object({
  // app, HTTP, database, Kafka and outbox; auth, saga and simulation settings live in their own files
  NODE_ENV: Joi.string().valid('development', 'production', 'test').default('development'),
  HOST: Joi.string().default('0.0.0.0'),
  PORT: Joi.number().port().default(3000),
  PUBLIC_URL: Joi.string().uri().optional(),
  APP_MODULES: Joi.string()
    .pattern(/^\s*(experience|process|system)(\s*,\s*(experience|process|system))*\s*$/)
    .default('experience,process,system')
    .messages({ 'string.pattern.base': 'APP_MODULES must be a comma-separated subset of experience,process,system' }),
  DEFAULT_CURRENCY: Joi.string().length(3).uppercase().default('EUR'),
  LOG_LEVEL: Joi.string().valid('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent').default('info'),
  LOG_PRETTY: Joi.boolean().default(false),
  HTTP_BODY_LIMIT: Joi.string().default('100kb'),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: Joi.number().integer().min(1000).max(600000).default(65000),
  CORS_ORIGINS: Joi.string().allow('').default(''),
  RATE_LIMIT_PER_MINUTE: Joi.number().integer().min(1).default(6000),
  IDEMPOTENCY_KEY_TTL_HOURS: Joi.number().integer().min(1).default(24),
  IDEMPOTENCY_PRUNE_INTERVAL_MS: Joi.number().integer().min(1000).default(600000),

  DATABASE_URL: Joi.string()
    .uri({ scheme: ['mysql', 'mariadb'] })
    .default('mariadb://root@127.0.0.1:3306/order_flow'),
  DATABASE_POOL_SIZE: Joi.number().integer().min(1).max(200).default(30),
  // MariaDB ends a session idle inside a transaction this long, releasing the row locks of a replica that hung or was cut off (0: never).
  DATABASE_IDLE_TRANSACTION_TIMEOUT_S: Joi.number().integer().min(0).max(3600).default(10),

  KAFKA_BROKERS: Joi.string().default('127.0.0.1:9092'),
  KAFKA_CLIENT_ID: Joi.string().default('order-flow'),
  KAFKA_GROUP_PREFIX: Joi.string().default('order-flow'),
  // Partitions cap how many replicas consume a topic in parallel, and each costs the consumers a
  // transaction per fetch round: 2 suits one or two replicas; a deployment that scales further sets
  // it (docker/k8s: 6) before the topics are created.
  KAFKA_TOPIC_PARTITIONS: Joi.number().integer().min(1).default(2),
  KAFKA_REPLICATION_FACTOR: Joi.number().integer().min(1).default(1),
  KAFKA_CREATE_TOPICS: Joi.boolean().default(true),
  KAFKA_PARTITIONS_CONSUMED_CONCURRENTLY: Joi.number().integer().min(1).default(3),
  KAFKA_CONSUMER_BATCH_SIZE: Joi.number().integer().min(1).max(1000).default(100),
  KAFKA_FETCH_MIN_BYTES: Joi.number().integer().min(1).default(1),
  KAFKA_FETCH_MAX_WAIT_MS: Joi.number().integer().min(0).max(30000).default(5000),
  KAFKA_SSL: Joi.boolean().default(false),
  KAFKA_SSL_CA_FILE: Joi.string().optional(),
  KAFKA_SSL_REJECT_UNAUTHORIZED: Joi.boolean().default(true),
  KAFKA_SASL_MECHANISM: Joi.string().valid('scram-sha-512', 'scram-sha-256', 'plain').optional(),
  KAFKA_SASL_USERNAME: Joi.string().when('KAFKA_SASL_MECHANISM', { is: Joi.exist(), then: Joi.required() }),
  KAFKA_SASL_PASSWORD: Joi.string().when('KAFKA_SASL_MECHANISM', { is: Joi.exist(), then: Joi.required() }),
  KAFKA_TOPIC_ORDERS_IN: Joi.string().default('orders-in'),
  KAFKA_TOPIC_ORDERS_VALIDATED: Joi.string().default('orders-validated'),
  KAFKA_TOPIC_ORDER_STATUS: Joi.string().default('order-status'),
  KAFKA_TOPIC_INVENTORY_UPDATES: Joi.string().default('inventory-updates'),
  KAFKA_TOPIC_SHIPPING_UPDATES: Joi.string().default('shipping-updates'),
  KAFKA_TOPIC_INVENTORY_REQUESTS: Joi.string().default('inventory-requests'),
  KAFKA_TOPIC_INVENTORY_REPLIES: Joi.string().default('inventory-replies'),
  KAFKA_TOPIC_PAYMENT_REQUESTS: Joi.string().default('payment-requests'),
  KAFKA_TOPIC_PAYMENT_REPLIES: Joi.string().default('payment-replies'),
  KAFKA_TOPIC_SHIPPING_REPLIES: Joi.string().default('shipping-replies'),
  KAFKA_TOPIC_DLQ: Joi.string().default('dlq-orders'),
  CONSUMER_MAX_ATTEMPTS: Joi.number().integer().min(1).default(3),
  INBOX_RETENTION_HOURS: Joi.number().integer().min(1).default(168),
  INBOX_PRUNE_INTERVAL_MS: Joi.number().integer().min(1000).default(600000),
  // A consumer group that cannot run this long fails /health/live, so the orchestrator restarts the process.
  CONSUMER_DEAD_AFTER_S: Joi.number().integer().min(1).default(60),

  OUTBOX_POLL_INTERVAL_MS: Joi.number().integer().min(10).default(1000),
  OUTBOX_BATCH_SIZE: Joi.number().integer().min(1).max(5000).default(500),
  OUTBOX_SHARDS: Joi.number().integer().min(1).max(256).default(16),
  OUTBOX_RELAY_CONCURRENCY: Joi.number().integer().min(1).max(64).default(1),
  OUTBOX_RETRY_BACKOFF_MAX_MS: Joi.number().integer().min(100).default(10000),
  OUTBOX_PUBLISH_TIMEOUT_MS: Joi.number().integer().min(100).default(5000),

  // The chaos suite only (scripts/chaos): the share of committed consumer batches after which the
  // process kills itself before their offsets are committed. 0 (the default) never.
  CHAOS_KILL_AFTER_DB_COMMIT: Joi.number().min(0).max(1).default(0),
})
  .concat(authEnvSchema)
  .concat(sagaEnvSchema)
  .concat(simulationEnvSchema)
  .unknown(true)
  .prefs({ abortEarly: false, convert: true });

/** Nest ConfigModule hook: throws one error listing every bad variable. */
export function validateEnv(raw: Record<string, unknown>): Record<string, unknown> {
  const { error, value } = envSchema.validate(raw);
  if (error) {
    const lines = error.details.map((d) => `  - ${d.message}`).join('\n');
    throw new Error(`Invalid configuration:\n${lines}`);
  }
  return value as Record<string, unknown>;
}
