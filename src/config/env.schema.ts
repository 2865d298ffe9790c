import { z } from 'zod';
import { authEnv } from './auth.env.js';
import { cacheEnv } from './cache.env.js';
import { boolean, describeEnvIssues, number, text, url } from './env-kit.js';
import { orderEventsEnv } from './order-events.env.js';
import { sagaEnv } from './saga.env.js';
import { simulationEnv } from './simulation.env.js';
import { tracingEnv } from './tracing.env.js';

/**
 * Every environment variable the service reads, validated once at boot (see env.ts), typed from this
 * schema. A missing or malformed value stops the process with a message naming the variable, never
 * a surprise at the first request. Variables it does not know pass through. Keep `.env.example` in
 * step with this file.
 */
export const envSchema = z
  .looseObject({
    // app, HTTP, database, Kafka and outbox; auth, saga and simulation settings live in their own files
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    HOST: text.default('0.0.0.0'),
    PORT: number({ min: 0, max: 65535 }).default(3000),
    PUBLIC_URL: url().optional(),
    // Serves /metrics on a port of its own (on HOST), and no longer on PORT; 0 picks a free port. Unset: on PORT.
    METRICS_PORT: number({ min: 0, max: 65535 }).optional(),
    APP_MODULES: z
      .string()
      .regex(/^\s*(experience|process|system)(\s*,\s*(experience|process|system))*\s*$/, 'APP_MODULES must be a comma-separated subset of experience,process,system')
      .default('experience,process,system'),
    DEFAULT_CURRENCY: z
      .string()
      .transform((v) => v.toUpperCase())
      .pipe(z.string().length(3))
      .default('EUR'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    LOG_PRETTY: boolean.default(false),
    HTTP_BODY_LIMIT: text.default('100kb'),
    HTTP_KEEP_ALIVE_TIMEOUT_MS: number({ min: 1000, max: 600000 }).default(65000),
    CORS_ORIGINS: z.string().default(''),
    RATE_LIMIT_PER_MINUTE: number({ min: 1 }).default(6000),
    // Rate-limit counts and the order read cache in this Redis, shared by all replicas; unset: counted per replica, in memory, and no cache.
    REDIS_URL: url(['redis', 'rediss'], 'REDIS_URL must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379').optional(),
    IDEMPOTENCY_KEY_TTL_HOURS: number({ min: 1 }).default(24),
    IDEMPOTENCY_PRUNE_INTERVAL_MS: number({ min: 1000 }).default(600000),

    DATABASE_URL: url(['mysql', 'mariadb']).default('mariadb://root@127.0.0.1:3306/order_flow'),
    DATABASE_POOL_SIZE: number({ min: 1, max: 200 }).default(30),
    // MariaDB ends a session idle inside a transaction this long, releasing the row locks of a replica that hung or was cut off (0: never).
    DATABASE_IDLE_TRANSACTION_TIMEOUT_S: number({ min: 0, max: 3600 }).default(10),

    KAFKA_BROKERS: text.default('127.0.0.1:9092'),
    KAFKA_CLIENT_ID: text.default('order-flow'),
    KAFKA_GROUP_PREFIX: text.default('order-flow'),
    // Partitions cap how many replicas consume a topic in parallel, and each costs the consumers a
    // transaction per fetch round: 2 suits one or two replicas; a deployment that scales further sets
    // it (docker/k8s: 6) before the topics are created.
    KAFKA_TOPIC_PARTITIONS: number({ min: 1 }).default(2),
    KAFKA_REPLICATION_FACTOR: number({ min: 1 }).default(1),
    KAFKA_CREATE_TOPICS: boolean.default(true),
    KAFKA_DLQ_RETENTION_HOURS: number({ min: 1 }).default(720),
    KAFKA_PARTITIONS_CONSUMED_CONCURRENTLY: number({ min: 1 }).default(3),
    KAFKA_CONSUMER_BATCH_SIZE: number({ min: 1, max: 1000 }).default(100),
    KAFKA_FETCH_MIN_BYTES: number({ min: 1 }).default(1),
    KAFKA_FETCH_MAX_WAIT_MS: number({ min: 0, max: 30000 }).default(5000),
    KAFKA_SSL: boolean.default(false),
    KAFKA_SSL_CA_FILE: text.optional(),
    KAFKA_SSL_REJECT_UNAUTHORIZED: boolean.default(true),
    KAFKA_SASL_MECHANISM: z.enum(['scram-sha-512', 'scram-sha-256', 'plain']).optional(),
    // required once a mechanism is set (see below)
    KAFKA_SASL_USERNAME: text.optional(),
    KAFKA_SASL_PASSWORD: text.optional(),
    KAFKA_TOPIC_ORDERS_IN: text.default('orders-in'),
    KAFKA_TOPIC_ORDERS_VALIDATED: text.default('orders-validated'),
    KAFKA_TOPIC_ORDER_STATUS: text.default('order-status'),
    KAFKA_TOPIC_INVENTORY_UPDATES: text.default('inventory-updates'),
    KAFKA_TOPIC_SHIPPING_UPDATES: text.default('shipping-updates'),
    KAFKA_TOPIC_INVENTORY_REQUESTS: text.default('inventory-requests'),
    KAFKA_TOPIC_INVENTORY_REPLIES: text.default('inventory-replies'),
    KAFKA_TOPIC_PAYMENT_REQUESTS: text.default('payment-requests'),
    KAFKA_TOPIC_PAYMENT_REPLIES: text.default('payment-replies'),
    KAFKA_TOPIC_SHIPPING_REPLIES: text.default('shipping-replies'),
    KAFKA_TOPIC_DLQ: text.default('dlq-orders'),
    CONSUMER_MAX_ATTEMPTS: number({ min: 1 }).default(3),
    INBOX_RETENTION_HOURS: number({ min: 1 }).default(168),
    INBOX_PRUNE_INTERVAL_MS: number({ min: 1000 }).default(600000),
    // A consumer group that cannot run this long fails /health/live, so the orchestrator restarts the process.
    CONSUMER_DEAD_AFTER_S: number({ min: 1 }).default(60),

    OUTBOX_POLL_INTERVAL_MS: number({ min: 10 }).default(1000),
    OUTBOX_BATCH_SIZE: number({ min: 1, max: 5000 }).default(500),
    OUTBOX_SHARDS: number({ min: 1, max: 256 }).default(16),
    OUTBOX_RELAY_CONCURRENCY: number({ min: 1, max: 64 }).default(1),
    OUTBOX_RETRY_BACKOFF_MAX_MS: number({ min: 100 }).default(10000),
    OUTBOX_PUBLISH_TIMEOUT_MS: number({ min: 100 }).default(5000),

    // The chaos suite only (scripts/chaos): the share of committed consumer batches after which the
    // process kills itself before their offsets are committed. 0 (the default) never.
    CHAOS_KILL_AFTER_DB_COMMIT: number({ min: 0, max: 1, integer: false }).default(0),
    ...authEnv,
    ...orderEventsEnv,
    ...cacheEnv,
    ...sagaEnv,
    ...simulationEnv,
    ...tracingEnv,
  })
  .superRefine((e, ctx) => {
    if (e.KAFKA_SASL_MECHANISM === undefined) return;
    for (const name of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const) {
      if (e[name] === undefined) ctx.addIssue({ code: 'custom', path: [name], message: `"${name}" is required` });
    }
  });

export type Env = z.output<typeof envSchema>;

/** Throws one error listing every bad variable, one line each (also the Nest ConfigModule hook). */
export function validateEnv(raw: Record<string, unknown>): Env {
  const result = envSchema.safeParse(raw);
  if (!result.success)
    throw new Error(
      `Invalid configuration:\n${describeEnvIssues(result.error.issues, raw)
        .map((line) => `  - ${line}`)
        .join('\n')}`,
    );
  return result.data;
}
