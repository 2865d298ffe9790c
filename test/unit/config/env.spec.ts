import { appConfig } from '../../../src/config/app.config.js';
import { cacheConfig } from '../../../src/config/cache.config.js';
import { databaseConfig, parseDatabaseUrl } from '../../../src/config/database.config.js';
import { validateEnv } from '../../../src/config/env.schema.js';
import { env } from '../../../src/config/env.js';
import { kafkaConfig } from '../../../src/config/kafka.config.js';
import { outboxConfig } from '../../../src/config/outbox.config.js';
import { sagaConfig } from '../../../src/config/saga.config.js';

/** The namespaces read `process.env`: each test sees only the variables it sets (the runner sets its own). */
const originalEnv = process.env;
function useEnv(vars: Record<string, string>): void {
  process.env = { ...vars };
}
beforeEach(() => useEnv({}));
afterEach(() => {
  process.env = originalEnv;
});

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a configuration error');
}

describe('validateEnv', () => {
  it('applies every default, typed', () => {
    const e = validateEnv({});
    expect(e).toMatchObject({
      NODE_ENV: 'development',
      HOST: '0.0.0.0',
      PORT: 3000,
      APP_MODULES: 'experience,process,system',
      DEFAULT_CURRENCY: 'EUR',
      LOG_LEVEL: 'info',
      LOG_PRETTY: false,
      DATABASE_URL: 'mariadb://root@127.0.0.1:3306/order_flow',
      DATABASE_POOL_SIZE: expect.any(Number), // a tuning value: only its type is pinned here
      KAFKA_BROKERS: '127.0.0.1:9092',
      KAFKA_CREATE_TOPICS: true,
      KAFKA_SSL: false,
      KAFKA_SSL_REJECT_UNAUTHORIZED: true,
      KAFKA_TOPIC_DLQ: 'dlq-orders',
      CONSUMER_MAX_ATTEMPTS: 3,
      OUTBOX_POLL_INTERVAL_MS: 1000,
      OUTBOX_BATCH_SIZE: 500,
      OUTBOX_SHARDS: 16,
      OUTBOX_RETRY_BACKOFF_MAX_MS: 10000,
      SAGA_SHIPPING_MAX_ATTEMPTS: 1,
    });
    expect(e.KAFKA_SASL_MECHANISM).toBeUndefined();
    expect(e.PUBLIC_URL).toBeUndefined();
  });

  it('converts strings from the environment to numbers and booleans', () => {
    const e = validateEnv({ PORT: '8080', LOG_PRETTY: 'true', KAFKA_CREATE_TOPICS: 'false', OUTBOX_BATCH_SIZE: '25', DEFAULT_CURRENCY: 'usd' });
    expect(e.PORT).toBe(8080);
    expect(e.LOG_PRETTY).toBe(true);
    expect(e.KAFKA_CREATE_TOPICS).toBe(false);
    expect(e.OUTBOX_BATCH_SIZE).toBe(25);
    expect(e.DEFAULT_CURRENCY).toBe('USD');
  });

  it('keeps variables it does not know (the whole process.env passes through)', () => {
    expect(validateEnv({ PATH: '/usr/bin', HOME: '/root' })).toMatchObject({ PATH: '/usr/bin' });
  });

  it('throws one error that lists every bad variable, one line each', () => {
    const err = errorOf(() => validateEnv({ PORT: 'abc', APP_MODULES: 'bogus', DATABASE_URL: 'postgres://u:p@db:5432/orders', OUTBOX_SHARDS: '0' }));
    expect(err.message).toMatch(/^Invalid configuration:\n/);
    const lines = err.message.split('\n').slice(1);
    expect(lines).toHaveLength(4);
    expect(lines.every((l) => l.startsWith('  - '))).toBe(true);
    expect(err.message).toMatch(/"PORT" must be a number/);
    expect(err.message).toMatch(/APP_MODULES must be a comma-separated subset of experience,process,system/);
    expect(err.message).toMatch(/"DATABASE_URL" must be a valid uri with a scheme matching the mysql\|mariadb pattern/);
    expect(err.message).toMatch(/"OUTBOX_SHARDS" must be greater than or equal to 1/);
  });

  it.each(['', 'experience,', 'experience;system', 'experience,bogus', 'EXPERIENCE'])('rejects APP_MODULES=%p', (value) => {
    expect(() => validateEnv({ APP_MODULES: value })).toThrow(/APP_MODULES/);
  });

  it('requires the SASL username and password once a mechanism is set', () => {
    const err = errorOf(() => validateEnv({ KAFKA_SASL_MECHANISM: 'scram-sha-512' }));
    expect(err.message).toMatch(/"KAFKA_SASL_USERNAME" is required/);
    expect(err.message).toMatch(/"KAFKA_SASL_PASSWORD" is required/);
    expect(() => validateEnv({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'svc' })).toThrow(/KAFKA_SASL_PASSWORD/);
    expect(() => validateEnv({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'svc', KAFKA_SASL_PASSWORD: 'pw' })).not.toThrow();
  });

  it('bounds the read cache TTL by the 1 s the API promises (STATUS_CACHE_TTL_MS)', () => {
    expect(validateEnv({})).toMatchObject({ STATUS_CACHE_TTL_MS: 1000, STATUS_CACHE_TIMEOUT_MS: 50 });
    expect(validateEnv({ STATUS_CACHE_TTL_MS: '250' }).STATUS_CACHE_TTL_MS).toBe(250);
    expect(errorOf(() => validateEnv({ STATUS_CACHE_TTL_MS: '1001' })).message).toMatch(/"STATUS_CACHE_TTL_MS" must be less than or equal to 1000/);
    expect(() => validateEnv({ STATUS_CACHE_TTL_MS: '-1' })).toThrow(/STATUS_CACHE_TTL_MS/);
    expect(() => validateEnv({ STATUS_CACHE_TIMEOUT_MS: '5000' })).toThrow(/STATUS_CACHE_TIMEOUT_MS/);
  });

  it('caches order reads only with REDIS_URL and a TTL above 0', () => {
    useEnv({ REDIS_URL: 'redis://cache:6379/2' });
    expect(cacheConfig()).toEqual({ redisUrl: 'redis://cache:6379/2', ttlMs: 1000, commandTimeoutMs: 50 });
    useEnv({ REDIS_URL: 'redis://cache:6379/2', STATUS_CACHE_TTL_MS: '0' });
    expect(cacheConfig().redisUrl).toBeUndefined();
    useEnv({});
    expect(cacheConfig().redisUrl).toBeUndefined();
  });

  it('rejects an unknown SASL mechanism', () => {
    expect(() => validateEnv({ KAFKA_SASL_MECHANISM: 'gssapi', KAFKA_SASL_USERNAME: 'svc', KAFKA_SASL_PASSWORD: 'pw' })).toThrow(/KAFKA_SASL_MECHANISM/);
  });
});

describe('env', () => {
  it('validates once, and again only when the environment changed', () => {
    useEnv({ PORT: '4000' });
    const first = env();
    expect(env()).toBe(first);
    process.env.PORT = '4001';
    expect(env().PORT).toBe(4001);
    useEnv({ PORT: '4002' });
    expect(env().PORT).toBe(4002);
  });
});

describe('appConfig', () => {
  it('runs every layer by default', () => {
    expect([...appConfig().layers].sort()).toEqual(['experience', 'process', 'system']);
  });

  it('parses an APP_MODULES subset, tolerating spaces', () => {
    useEnv({ APP_MODULES: ' process , system ' });
    expect([...appConfig().layers].sort()).toEqual(['process', 'system']);
    useEnv({ APP_MODULES: 'experience' });
    expect([...appConfig().layers]).toEqual(['experience']);
  });

  it('fails at boot on a bad variable instead of returning a half-valid config', () => {
    useEnv({ APP_MODULES: 'experience,payments' });
    expect(() => appConfig()).toThrow(/APP_MODULES must be a comma-separated subset/);
  });

  it('derives the public URL from the port, and splits CORS origins', () => {
    useEnv({ PORT: '4321', CORS_ORIGINS: 'https://a.example, https://b.example,' });
    const app = appConfig();
    expect(app.port).toBe(4321);
    expect(app.publicUrl).toBe('http://localhost:4321');
    expect(app.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
    useEnv({ PUBLIC_URL: 'https://orders.example.com' });
    expect(appConfig().publicUrl).toBe('https://orders.example.com');
  });
});

describe('parseDatabaseUrl', () => {
  it('mariadb:// picks the mariadb dialect with every field', () => {
    expect(parseDatabaseUrl('mariadb://app:s3cret@db.internal:3307/order_flow')).toEqual({
      type: 'mariadb',
      host: 'db.internal',
      port: 3307,
      username: 'app',
      password: 's3cret',
      database: 'order_flow',
    });
  });

  it('mysql:// picks the mysql dialect; port defaults to 3306, user to root, password to empty', () => {
    expect(parseDatabaseUrl('mysql://localhost/orders_2')).toEqual({ type: 'mysql', host: 'localhost', port: 3306, username: 'root', password: '', database: 'orders_2' });
  });

  it('decodes a url-encoded user and password', () => {
    const parsed = parseDatabaseUrl(`mariadb://${encodeURIComponent('app user')}:${encodeURIComponent('p@ss:w/rd#1%')}@127.0.0.1/order_flow`);
    expect(parsed.username).toBe('app user');
    expect(parsed.password).toBe('p@ss:w/rd#1%');
  });

  it('ignores query parameters when naming the database', () => {
    expect(parseDatabaseUrl('mariadb://root@db/order_flow?ssl=true').database).toBe('order_flow');
  });

  it.each(['postgres://root@db/order_flow', 'http://db/order_flow'])('rejects the scheme of %s', (url) => {
    expect(() => parseDatabaseUrl(url)).toThrow(/DATABASE_URL scheme must be mysql or mariadb, got (postgres|http)$/);
  });

  it.each(['mariadb://root@db', 'mariadb://root@db/', 'mariadb://root@db/order-flow', 'mariadb://root@db/a%3Bdrop', 'mariadb://root@db/a/b'])(
    'rejects the database name of %s',
    (url) => {
      expect(() => parseDatabaseUrl(url)).toThrow(/must name a database made of letters, digits and underscores/);
    },
  );

  it('databaseConfig combines the URL with the pool size and the idle-transaction timeout (10 s unless set)', () => {
    useEnv({ DATABASE_URL: 'mysql://u:p@h:3310/d', DATABASE_POOL_SIZE: '7' });
    expect(databaseConfig()).toEqual({ type: 'mysql', host: 'h', port: 3310, username: 'u', password: 'p', database: 'd', poolSize: 7, idleTransactionTimeoutS: 10 });
    useEnv({ DATABASE_IDLE_TRANSACTION_TIMEOUT_S: '0' });
    expect(databaseConfig().idleTransactionTimeoutS).toBe(0);
    useEnv({ DATABASE_IDLE_TRANSACTION_TIMEOUT_S: '-1' });
    expect(() => databaseConfig()).toThrow(/DATABASE_IDLE_TRANSACTION_TIMEOUT_S/);
  });
});

describe('kafkaConfig', () => {
  it('splits the broker list, dropping blanks', () => {
    useEnv({ KAFKA_BROKERS: ' k1:9092, k2:9093 ,,k3:9094 ' });
    expect(kafkaConfig().brokers).toEqual(['k1:9092', 'k2:9093', 'k3:9094']);
  });

  it('names every topic, each overridable on its own', () => {
    useEnv({ KAFKA_TOPIC_DLQ: 'orders.dlq', KAFKA_TOPIC_PAYMENT_REQUESTS: 'pay.req' });
    expect(kafkaConfig().topics).toEqual({
      ordersIn: 'orders-in',
      ordersValidated: 'orders-validated',
      orderStatus: 'order-status',
      inventoryUpdates: 'inventory-updates',
      shippingUpdates: 'shipping-updates',
      inventoryRequests: 'inventory-requests',
      inventoryReplies: 'inventory-replies',
      paymentRequests: 'pay.req',
      paymentReplies: 'payment-replies',
      shippingReplies: 'shipping-replies',
      dlq: 'orders.dlq',
    });
  });

  it('has no SASL nor TLS by default, and builds them when asked', () => {
    const plain = kafkaConfig();
    expect(plain.sasl).toBeUndefined();
    expect(plain.ssl).toBeUndefined();
    useEnv({ KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'svc', KAFKA_SASL_PASSWORD: 'pw', KAFKA_SSL: 'true', KAFKA_SSL_REJECT_UNAUTHORIZED: 'false' });
    const secured = kafkaConfig();
    expect(secured.sasl).toEqual({ mechanism: 'scram-sha-256', username: 'svc', password: 'pw' });
    expect(secured.ssl).toEqual({ rejectUnauthorized: false });
  });

  it('creates topics with 2 partitions unless told otherwise, and rejects 0', () => {
    useEnv({});
    expect(kafkaConfig().partitions).toBe(2);
    useEnv({ KAFKA_TOPIC_PARTITIONS: '0' });
    expect(() => kafkaConfig()).toThrow(/"KAFKA_TOPIC_PARTITIONS" must be greater than or equal to 1/);
  });

  it('converts the numeric settings', () => {
    useEnv({ KAFKA_TOPIC_PARTITIONS: '12', KAFKA_REPLICATION_FACTOR: '3', CONSUMER_MAX_ATTEMPTS: '5' });
    expect(kafkaConfig()).toMatchObject({ partitions: 12, replicationFactor: 3, consumerMaxAttempts: 5, createTopics: true });
  });
});

describe('sagaConfig and outboxConfig', () => {
  it('saga defaults per step (docs/architecture.md §7.4)', () => {
    expect(sagaConfig()).toEqual({
      inventory: { timeoutMs: 5000, maxAttempts: 3 },
      payment: { timeoutMs: 5000, maxAttempts: 3 },
      shipping: { timeoutMs: 10000, maxAttempts: 1 },
      compensationTimeoutMs: 10000,
      compensationMaxAttempts: 8,
      deliveryGraceMs: 300000,
      stalledAfterMs: 120000,
      sweepIntervalMs: 5000,
      retryBaseMs: 500,
      retryMaxMs: 10000,
      schedulerIntervalMs: 250,
      schedulerBatchSize: 200,
    });
  });

  it('each saga variable lands in its own field, as a number', () => {
    useEnv({
      SAGA_INVENTORY_TIMEOUT_MS: '1100',
      SAGA_INVENTORY_MAX_ATTEMPTS: '2',
      SAGA_PAYMENT_TIMEOUT_MS: '1200',
      SAGA_PAYMENT_MAX_ATTEMPTS: '4',
      SAGA_SHIPPING_TIMEOUT_MS: '1300',
      SAGA_SHIPPING_MAX_ATTEMPTS: '5',
      SAGA_COMPENSATION_TIMEOUT_MS: '1400',
      SAGA_COMPENSATION_MAX_ATTEMPTS: '6',
      SAGA_DELIVERY_GRACE_MS: '1700',
      SAGA_STALLED_AFTER_MS: '1800',
      SAGA_SWEEP_INTERVAL_MS: '1900',
      SAGA_RETRY_BASE_MS: '15',
      SAGA_RETRY_MAX_MS: '1500',
      SAGA_SCHEDULER_INTERVAL_MS: '16',
      SAGA_SCHEDULER_BATCH_SIZE: '17',
    });
    expect(sagaConfig()).toEqual({
      inventory: { timeoutMs: 1100, maxAttempts: 2 },
      payment: { timeoutMs: 1200, maxAttempts: 4 },
      shipping: { timeoutMs: 1300, maxAttempts: 5 },
      compensationTimeoutMs: 1400,
      compensationMaxAttempts: 6,
      deliveryGraceMs: 1700,
      stalledAfterMs: 1800,
      sweepIntervalMs: 1900,
      retryBaseMs: 15,
      retryMaxMs: 1500,
      schedulerIntervalMs: 16,
      schedulerBatchSize: 17,
    });
  });

  it('rejects a step with no attempt at all', () => {
    useEnv({ SAGA_PAYMENT_MAX_ATTEMPTS: '0' });
    expect(() => sagaConfig()).toThrow(/"SAGA_PAYMENT_MAX_ATTEMPTS" must be greater than or equal to 1/);
  });

  it('outbox settings', () => {
    useEnv({
      OUTBOX_POLL_INTERVAL_MS: '50',
      OUTBOX_BATCH_SIZE: '10',
      OUTBOX_SHARDS: '4',
      OUTBOX_RELAY_CONCURRENCY: '2',
      OUTBOX_RETRY_BACKOFF_MAX_MS: '2000',
      OUTBOX_PUBLISH_TIMEOUT_MS: '1500',
    });
    expect(outboxConfig()).toEqual({ pollIntervalMs: 50, batchSize: 10, shards: 4, relayConcurrency: 2, retryBackoffMaxMs: 2000, publishTimeoutMs: 1500 });
  });

  it('the relay gives a Kafka send 5 s by default, and refuses less than 100 ms', () => {
    useEnv({});
    expect(outboxConfig().publishTimeoutMs).toBe(5000);
    useEnv({ OUTBOX_PUBLISH_TIMEOUT_MS: '50' });
    expect(() => outboxConfig()).toThrow(/"OUTBOX_PUBLISH_TIMEOUT_MS" must be greater than or equal to 100/);
  });

  it('relay concurrency and consumer batch size default to 1 and 100, and refuse 0', () => {
    useEnv({});
    expect(outboxConfig().relayConcurrency).toBe(1);
    expect(kafkaConfig().consumerBatchSize).toBe(100);
    useEnv({ OUTBOX_RELAY_CONCURRENCY: '0' });
    expect(() => outboxConfig()).toThrow(/"OUTBOX_RELAY_CONCURRENCY" must be greater than or equal to 1/);
    useEnv({ KAFKA_CONSUMER_BATCH_SIZE: '0' });
    expect(() => kafkaConfig()).toThrow(/"KAFKA_CONSUMER_BATCH_SIZE" must be greater than or equal to 1/);
  });

  it('consumer fetches default to kafkajs behaviour (answer at the first byte, long-poll 5 s) and can wait to fill', () => {
    useEnv({});
    expect(kafkaConfig()).toMatchObject({ fetchMinBytes: 1, fetchMaxWaitMs: 5000 });
    useEnv({ KAFKA_FETCH_MIN_BYTES: '32768', KAFKA_FETCH_MAX_WAIT_MS: '50' });
    expect(kafkaConfig()).toMatchObject({ fetchMinBytes: 32768, fetchMaxWaitMs: 50 });
    useEnv({ KAFKA_FETCH_MAX_WAIT_MS: '-1' });
    expect(() => kafkaConfig()).toThrow(/"KAFKA_FETCH_MAX_WAIT_MS" must be greater than or equal to 0/);
  });
});
