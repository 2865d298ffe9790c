import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, logLevel, ResourcePatternTypes, type AclEntry, type Admin, type KafkaConfig } from 'kafkajs';
import request from 'supertest';
import { startOidcProvider } from '../../../scripts/oidc-provider.mjs';
import { startKafka, stopKafka, type KafkaOptions } from '../../../scripts/kafka.mjs';
import { createProduct, placeOrder, waitForStatus } from '../../support/saga-fixtures.js';
import { ConsumerRegistryService } from '../../../src/platform/messaging/consumer-registry.service.js';
import { readDeadLetters } from '../../../src/platform/messaging/dead-letters.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';
import { eventually } from '../../support/eventually.js';
import { ALL_TOPICS, GROUP_PREFIX, serviceAcls, TOPIC_ENV } from './service-acls.js';

/**
 * docs/kafka-acls.md: the service runs against a SASL/SCRAM-SHA-512 broker with an
 * authorizer (allow.everyone.if.no.acl.found=false) holding only the documented ACLs, and a
 * principal without them is refused. Its own broker on 29092/29093, fresh for every run.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const PORT = 29092;
const BROKERS = `127.0.0.1:${PORT}`;
const SVC = { username: 'order-flow-svc', password: 'svc-secret-acl-test' };
const INTRUDER = { username: 'intruder', password: 'intruder-secret-acl-test' };
const CREATOR = { username: 'order-flow-creator', password: 'creator-secret-acl-test' };
const broker: KafkaOptions = {
  security: 'scram',
  port: PORT,
  controllerPort: PORT + 1,
  dataDir: path.join(ROOT, '.local', 'kafka-acl-test-data'),
  scramUsers: [SVC, INTRUDER, CREATOR],
  // scripts/test.mjs sets KAFKA_BROKERS for the normal test broker: without this startKafka would reuse it
  env: { ...process.env, KAFKA_BROKERS: '' },
  log: false,
};

const serviceEnv = (user: { username: string; password: string }): Record<string, string> => ({
  KAFKA_BROKERS: BROKERS,
  KAFKA_SASL_MECHANISM: 'scram-sha-512',
  KAFKA_SASL_USERNAME: user.username,
  KAFKA_SASL_PASSWORD: user.password,
  KAFKA_CREATE_TOPICS: 'false',
  KAFKA_GROUP_PREFIX: 'order-flow',
  INVENTORY_FAILURE_RATE: '0',
  PAYMENT_DECLINE_RATE: '0',
  PAYMENT_TRANSIENT_RATE: '0',
  PAYMENT_NO_ANSWER_RATE: '0',
  SHIPPING_FAILURE_RATE: '0',
  SHIPPING_DELIVERY_DELAY_MS: '200',
  SHIPPING_DELIVERY_INTERVAL_MS: '100',
});

const client = (user: { username: string; password: string }, clientId: string): Kafka =>
  new Kafka({
    clientId,
    brokers: [BROKERS],
    sasl: { mechanism: 'scram-sha-512', ...user },
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    retry: { retries: 1, initialRetryTime: 100 },
  } satisfies KafkaConfig);

/** The kafkajs error type (e.g. TOPIC_AUTHORIZATION_FAILED) of a rejected promise, also when wrapped. */
async function errorTypeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    let e = err as { type?: string; cause?: unknown; originalError?: unknown; message?: string } | undefined;
    const seen: string[] = [];
    while (e) {
      if (e.type) return e.type;
      seen.push(String(e.message));
      e = (e.cause ?? e.originalError) as typeof e;
    }
    return `no kafkajs error type (${seen.join(' <- ')})`;
  }
  return 'resolved';
}

describe('Kafka SASL/SCRAM-SHA-512 with ACLs (docs/kafka-acls.md)', () => {
  let admin: Admin;

  beforeAll(async () => {
    await stopKafka({ ...broker, graceMs: 5000 }); // left over from an interrupted run
    fs.rmSync(broker.dataDir!, { recursive: true, force: true }); // SCRAM users are created when the data dir is formatted
    await startKafka(broker);
    admin = client({ username: 'admin', password: 'admin-secret' }, 'acl-test-admin').admin();
    await admin.connect();
    // Pre-created by the operator: the service runs with KAFKA_CREATE_TOPICS=false and has no CREATE.
    await admin.createTopics({ waitForLeaders: true, topics: ALL_TOPICS.map((topic) => ({ topic, numPartitions: 3, replicationFactor: 1 })) });
    await grant(SVC.username, serviceAcls(SVC.username));
  }, 120_000);

  /** Creates the ACLs and waits until the broker reports them all (they are applied through the metadata log). */
  async function grant(principal: string, acl: AclEntry[]): Promise<void> {
    await admin.createAcls({ acl });
    await eventually(
      () =>
        admin.describeAcls({
          resourceType: AclResourceTypes.ANY,
          resourcePatternType: ResourcePatternTypes.ANY,
          operation: AclOperationTypes.ANY,
          permissionType: AclPermissionTypes.ANY,
          principal: `User:${principal}`,
        }),
      (r) => r.resources.reduce((n, res) => n + res.acls.length, 0) === acl.length,
      { what: `the ACLs of ${principal}` },
    );
  }

  afterAll(async () => {
    await admin?.disconnect();
    await stopKafka({ ...broker, graceMs: 5000 }); // its data dir goes anyway: no need for a clean shutdown
    fs.rmSync(broker.dataDir!, { recursive: true, force: true });
  }, 60_000);

  const messageCount = async (topic: string) => (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);

  /** Every message of a topic, as text (read as admin). */
  async function readAll(topic: string): Promise<string[]> {
    const total = await messageCount(topic);
    if (!total) return [];
    const consumer = client({ username: 'admin', password: 'admin-secret' }, 'acl-test-reader').consumer({ groupId: `acl-test-reader-${Date.now()}` });
    const seen: string[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void seen.push(`${message.key?.toString()} ${message.value?.toString()}`) });
      await eventually(
        () => seen.length,
        (n) => n >= total,
        { what: `${total} messages of ${topic}` },
      );
    } finally {
      await consumer.disconnect();
    }
    return seen;
  }

  describe('the service principal with exactly the documented ACLs', () => {
    let t: TestApp;

    beforeAll(async () => {
      t = await startTestApp({ env: serviceEnv(SVC) });
    }, 60_000);
    afterAll(async () => {
      await t?.close();
    });

    it('is ready, and an order goes all the way to SHIPPED and DELIVERED with no DLQ message', async () => {
      const ready = await eventually(
        () => t.get('/health/ready'),
        (r) => r.status === 200,
        { what: 'readiness' },
      );
      expect(ready.body.details.consumers.groups).toMatchObject({
        [`${GROUP_PREFIX}process`]: { state: 'connected' },
        [`${GROUP_PREFIX}inventory`]: { state: 'connected' },
        [`${GROUP_PREFIX}payment`]: { state: 'connected' },
        [`${GROUP_PREFIX}shipping`]: { state: 'connected' },
      });

      const productId = await createProduct(t, 5, 7);
      const orderId = await placeOrder(t, [{ productId, quantity: 2 }]);
      expect(await waitForStatus(t, orderId)).toMatchObject({ status: 'SHIPPED' });
      // the shipping group's status changes travel back on shipping-updates to the process group
      await eventually(
        async () => (await t.get(`/api/orders/${orderId}`)).body,
        (o) => o.fulfillment?.shipmentStatus === 'DELIVERED',
        { what: 'shipment DELIVERED' },
      );

      // every group committed its offsets (group READ), and nothing went to the DLQ
      for (const group of ['intake', 'process', 'inventory', 'payment', 'shipping']) {
        const offsets = await admin.fetchOffsets({ groupId: `${GROUP_PREFIX}${group}` });
        expect(offsets.some((o) => o.partitions.some((p) => Number(p.offset) > 0))).toBe(true);
      }
      // (under `npm test` the relay may also publish rows other suites left in the shared outbox: only this order counts)
      const deadLetters = await readAll('dlq-orders');
      expect(deadLetters.filter((m) => m.includes(orderId))).toEqual([]);
    }, 45_000);

    it('serves the operator routes: reads the DLQ with READ on it and a group under the prefix', async () => {
      // A dead letter written as admin, so that the listing has to consume the topic (not only ask its offsets).
      const producer = client({ username: 'admin', password: 'admin-secret' }, 'acl-test-dlq').producer();
      await producer.connect();
      const letter = {
        originTopic: 'orders-in',
        partition: 0,
        offset: '7',
        consumerGroup: `${GROUP_PREFIX}intake`,
        error: 'acl test',
        attempts: 1,
        failedAt: new Date().toISOString(),
        key: 'acl-test',
        headers: {},
        value: null,
      };
      await producer.send({ topic: 'dlq-orders', messages: [{ key: 'acl-test', value: JSON.stringify(letter) }] }).finally(() => producer.disconnect());

      const listed = await t.get('/api/admin/dead-letters').expect(200);
      expect(listed.body.items).toContainEqual(expect.objectContaining({ key: 'acl-test', error: 'acl test', consumerGroup: `${GROUP_PREFIX}intake` }));
      // Nothing to publish (a letter without a value is skipped), but the read went through again.
      const replay = await t.post('/api/admin/dead-letters/replay', { all: true, group: `${GROUP_PREFIX}intake` }).expect(200);
      expect(replay.body).toEqual({ replayed: [], skipped: [expect.any(String)] });

      // A reader group outside the PREFIXED ACL is refused: the read fails as soon as its consumer crashes
      // (its own timeout here is far beyond this test's).
      await expect(readDeadLetters(client(SVC, 'acl-test-dlq-reader'), 'dlq-orders', 'elsewhere', {}, 120_000)).rejects.toThrow(/group coordinator|authoriz/i);
    }, 30_000);
  });

  describe('the service creating its topics at start (KAFKA_CREATE_TOPICS=true)', () => {
    it('needs CREATE on the topics in addition, and creates them all', async () => {
      const prefix = 'created-';
      await grant(CREATOR.username, serviceAcls(CREATOR.username, { topicPrefix: prefix, createTopics: true }));
      const topicEnv = Object.fromEntries(Object.entries(TOPIC_ENV).map(([name, variable]) => [variable, `${prefix}${name}`]));
      // startTestApp waits until the topics exist (TopicAdminService retries for ever when it may not create them)
      const t = await startTestApp({ layers: ['experience'], groups: [], env: { ...serviceEnv(CREATOR), ...topicEnv, KAFKA_CREATE_TOPICS: 'true' } });
      try {
        const topics = await admin.listTopics();
        expect(topics.filter((name) => name.startsWith(prefix)).sort()).toEqual(ALL_TOPICS.map((name) => `${prefix}${name}`).sort());
        await t.get('/health/ready').expect(200);
      } finally {
        await t.close();
      }
    }, 30_000);
  });

  describe('a principal without ACLs (authenticated, not authorized)', () => {
    const intruder = client(INTRUDER, 'acl-test-intruder');

    it('cannot produce: the idempotent producer gets CLUSTER_AUTHORIZATION_FAILED, a plain one TOPIC_AUTHORIZATION_FAILED', async () => {
      const ordersInBefore = await messageCount('orders-in');
      const idempotent = intruder.producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 1 } });
      expect(await errorTypeOf(idempotent.connect())).toBe('CLUSTER_AUTHORIZATION_FAILED');
      await idempotent.disconnect();

      const plain = intruder.producer({ allowAutoTopicCreation: false });
      await plain.connect();
      try {
        expect(await errorTypeOf(plain.send({ topic: 'orders-in', messages: [{ key: 'x', value: 'forged order' }] }))).toBe('TOPIC_AUTHORIZATION_FAILED');
      } finally {
        await plain.disconnect();
      }
      expect(await messageCount('orders-in')).toBe(ordersInBefore);
    });

    it('cannot consume orders-in, not even in the service consumer group', async () => {
      const consumer = intruder.consumer({ groupId: `${GROUP_PREFIX}process`, retry: { retries: 0 } });
      await consumer.connect();
      try {
        expect(await errorTypeOf(consumer.subscribe({ topics: ['orders-in'], fromBeginning: true }))).toBe('TOPIC_AUTHORIZATION_FAILED');
      } finally {
        await consumer.disconnect();
      }
    });

    it('a service instance with those credentials serves HTTP, but its refused consumers make liveness fail', async () => {
      const op = await startOidcProvider({ port: 0 });
      const deadAfter = process.env.CONSUMER_DEAD_AFTER_S;
      Object.assign(process.env, { AUTH_ISSUER_URL: op.issuer, AUTH_AUDIENCE: op.audience, CONSUMER_DEAD_AFTER_S: '3' }, serviceEnv(INTRUDER));
      const { createApp, startConsumers } = await import('../../../src/bootstrap.js');
      const app = await createApp({ groups: ['inventory'], bufferLogs: true });
      try {
        await app.listen(0, '127.0.0.1');
        const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
        // The real start-up path: it keeps retrying in the background while the broker refuses it.
        void startConsumers(app);
        const registry = app.get(ConsumerRegistryService);
        const refused = await eventually(
          () => registry.snapshot()[`${GROUP_PREFIX}inventory`],
          (g) => g?.lastError !== null && g?.lastError !== undefined,
          { timeoutMs: 20000, what: 'the consumer group start to be refused' },
        );
        expect(refused).toMatchObject({ state: 'reconnecting', lastError: expect.stringMatching(/authoriz/i) });

        // Readiness is about serving HTTP: the database answers, so it is ready, and says why the group is not running.
        const ready = await request(url).get('/health/ready');
        expect(ready.status).toBe(200);
        expect(ready.body.details.consumers.groups[`${GROUP_PREFIX}inventory`]).toMatchObject({ state: 'reconnecting', lastError: expect.stringMatching(/authoriz/i) });
        // The group keeps being refused: after CONSUMER_DEAD_AFTER_S liveness fails, so the pod is restarted.
        const live = await eventually(
          () => request(url).get('/health/live'),
          (r) => r.status === 503,
          { timeoutMs: 15000, what: 'liveness to fail' },
        );
        expect(live.body.details.consumers).toMatchObject({ status: 'down', message: expect.stringContaining(`${GROUP_PREFIX}inventory`) });
      } finally {
        await app.close();
        await op.close();
        if (deadAfter === undefined) delete process.env.CONSUMER_DEAD_AFTER_S;
        else process.env.CONSUMER_DEAD_AFTER_S = deadAfter;
      }
    }, 30_000);
  });
});
