import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import request from 'supertest';
import { issueTestToken } from '../../../scripts/oidc-provider.mjs';
import { HEADER_CORRELATION_ID, HEADER_EVENT_TYPE, newEnvelope } from '../../../src/contracts/envelope.js';
import { leanTransaction } from '../../../src/platform/database/lean-transaction.js';
import { HEADER_REPLAY_OF, parseDeadLetterIds, readDeadLetters, type StoredDeadLetter } from '../../../src/platform/messaging/dead-letters.js';
import { eventually } from '../../support/eventually.js';
import { writeReceivedOrder } from '../../support/received-order.js';
import { createProduct, stockOf, waitForGroupsCaughtUp, waitForStatus } from '../../support/saga-fixtures.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';
import { TopicReader } from '../../support/topic-reader.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const CUSTOMER = { name: 'Edsger Dijkstra', email: 'edsger@example.com' };
const ADDRESS = { line1: 'Plantage Muidergracht 24', city: 'Amsterdam', postalCode: '1018TV', country: 'NL' };

/** The operator's command (`npm run dlq -- …`), built by scripts/test.mjs, against the test broker. */
function dlqCli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'cli', 'dlq.js'), ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'error' },
    encoding: 'utf8',
    timeout: 60000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/**
 * docs/architecture.md §10: operators reprocess dead letters. A message the saga gave up on (its order was not
 * there yet) is listed with its origin and reason, replayed once its cause is fixed, and processed
 * exactly once however often it is replayed.
 */
describe('dead letters: list and replay (real Kafka and MariaDB)', () => {
  let t: TestApp;
  let kafka: Kafka;
  let producer: Producer;
  let ordersIn: TopicReader;

  beforeAll(async () => {
    t = await startTestApp();
    kafka = new Kafka({ clientId: 'test-dlq', brokers: (process.env.KAFKA_BROKERS ?? '').split(','), logLevel: logLevel.NOTHING });
    producer = kafka.producer();
    await producer.connect();
    ordersIn = await new TopicReader(['orders-in']).start();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await ordersIn?.stop();
    await t?.close();
  });

  /** The saga gets OrderCreated before its order is in the database: a poison message, dead-lettered by the intake group. */
  async function sendEarlyOrderCreated() {
    const productId = await createProduct(t, 10);
    const orderId = randomUUID();
    const correlationId = `dlq-replay-${randomUUID()}`;
    const created = newEnvelope(
      'OrderCreated',
      orderId,
      { customer: { id: randomUUID(), name: CUSTOMER.name, email: CUSTOMER.email }, shippingAddress: ADDRESS, items: [{ productId, quantity: 3 }], currency: 'EUR' },
      { correlationId },
    );
    await producer.send({
      topic: 'orders-in',
      messages: [{ key: orderId, value: JSON.stringify(created), headers: { [HEADER_CORRELATION_ID]: correlationId, [HEADER_EVENT_TYPE]: 'OrderCreated' } }],
    });
    const letter = await eventually(
      async () => (await readDeadLetters(kafka, 'dlq-orders', 'order-flow', { consumerGroup: 'order-flow-intake' })).find((l) => l.key === orderId),
      Boolean,
      { what: 'the dead letter of the early OrderCreated', timeoutMs: 30000 },
    );
    return { productId, orderId, correlationId, created, letter: letter! };
  }

  /** The cause goes away: the order is in the database now, as the intake would have written it. */
  async function writeTheMissingOrder(orderId: string, correlationId: string, productId: string): Promise<void> {
    const order = {
      id: orderId,
      customer: { ...CUSTOMER, externalId: `cust-${orderId.slice(0, 8)}` },
      shippingAddress: ADDRESS,
      items: [{ productId, quantity: 3 }],
      currency: 'EUR',
      correlationId,
      at: new Date(),
    };
    await leanTransaction(t.dataSource, (tx) => writeReceivedOrder(t.app, (batch, last) => tx.run(batch, { commit: last }), order));
  }

  /** `replays` replays reached every group; the order moved through its saga once: one step, one charge, its stock taken once. */
  async function expectProcessedOnce(orderId: string, productId: string, replays: number): Promise<void> {
    await eventually(
      () => ordersIn.forOrder(orderId).filter((m) => m.headers[HEADER_REPLAY_OF]).length,
      (n) => n === replays,
      { what: `${replays} replays on orders-in` },
    );
    await waitForGroupsCaughtUp();
    const history = (await t.get(`/api/orders/${orderId}`).expect(200)).body.history.map((h: { status: string }) => h.status);
    expect(history.filter((s: string) => s === 'INVENTORY_CHECK_STARTED')).toHaveLength(1);
    expect(history.filter((s: string) => s === 'SHIPPED')).toHaveLength(1);
    const [{ n: charges }] = await t.dataSource.query("SELECT COUNT(*) AS n FROM payments WHERE order_id = ? AND status <> 'REFUNDED'", [orderId]);
    expect(Number(charges)).toBe(1);
    expect(await stockOf(t, productId)).toEqual({ onHand: 7, reserved: 0 });
  }

  it('lists the letter, replays it once the order exists, and a second replay changes nothing', async () => {
    const { productId, orderId, correlationId, created, letter } = await sendEarlyOrderCreated();
    expect(letter).toMatchObject({
      originTopic: 'orders-in',
      consumerGroup: 'order-flow-intake',
      attempts: 1,
      reason: 'PROCESSING_FAILED',
      error: expect.stringContaining(`no order ${orderId}`),
    });
    expect(JSON.parse(letter!.value!).eventId).toBe(created.eventId);

    // The operator's listing shows it, with its id, origin and reason.
    const listed = dlqCli('list', '--group', 'order-flow-intake');
    expect(listed.status).toBe(0);
    const line = listed.stdout.split('\n').find((l) => l.startsWith(`${letter!.id} `));
    expect(line).toContain(`order-flow-intake  orders-in/${letter!.partition}@${letter!.offset}  OrderCreated  key ${orderId}  attempts 1`);
    expect(line).toContain(`attempts 1  PROCESSING_FAILED  no order ${orderId}`);
    const asJson = JSON.parse(dlqCli('list', '--json', '--group', 'order-flow-intake').stdout) as StoredDeadLetter[];
    expect(asJson.find((l) => l.id === letter!.id)).toEqual(letter);

    await writeTheMissingOrder(orderId, correlationId, productId);

    const replay = dlqCli('replay', letter!.id);
    expect(replay.stderr).toBe('');
    expect(replay.status).toBe(0);
    expect(replay.stdout).toContain(`replayed ${letter!.id} → orders-in (key ${orderId})`);
    await expect(waitForStatus(t, orderId)).resolves.toMatchObject({ status: 'SHIPPED' });
    const replayed = await ordersIn.waitFor((m) => m.key === orderId && m.headers[HEADER_REPLAY_OF] === `dlq-orders/${letter!.id}`, 'the replayed message on orders-in');
    expect(replayed.value.eventId).toBe(created.eventId);
    expect(replayed.headers[HEADER_CORRELATION_ID]).toBe(correlationId);

    // A second replay reaches every group again; their inboxes know the eventId, so nothing moves.
    expect(dlqCli('replay', letter!.id).status).toBe(0);
    await expectProcessedOnce(orderId, productId, 2);
  });

  it('operator routes (orders.admin) list a letter and replay it, named and with all: true, processed once', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const { productId, orderId, correlationId, created, letter } = await sendEarlyOrderCreated();

    const listed = await t.get(`/api/admin/dead-letters?group=order-flow-intake&since=${encodeURIComponent(since)}`).expect(200);
    expect(listed.body.count).toBe(listed.body.items.length);
    const item = listed.body.items.find((l: { id: string }) => l.id === letter.id);
    expect(item).toMatchObject({
      consumerGroup: 'order-flow-intake',
      originTopic: 'orders-in',
      partition: letter.partition,
      offset: letter.offset,
      eventType: 'OrderCreated',
      key: orderId,
      attempts: 1,
      reason: 'PROCESSING_FAILED',
      error: expect.stringContaining(`no order ${orderId}`),
      headers: expect.objectContaining({ [HEADER_CORRELATION_ID]: correlationId }),
    });
    expect(JSON.parse(item.value).eventId).toBe(created.eventId);
    // The listing stops at `limit`; `count` still says how many match.
    const first = await t.get('/api/admin/dead-letters?limit=1').expect(200);
    const upToMax = await t.get('/api/admin/dead-letters?limit=1000').expect(200);
    expect(first.body.items).toEqual(upToMax.body.items.slice(0, 1));
    expect(first.body.count).toBe(upToMax.body.count);
    // Another group's filter leaves it out.
    const otherGroup = await t.get('/api/admin/dead-letters?group=order-flow-shipping').expect(200);
    expect(otherGroup.body.items.map((l: { id: string }) => l.id)).not.toContain(letter.id);

    await writeTheMissingOrder(orderId, correlationId, productId);
    const named = await t.post('/api/admin/dead-letters/replay', { ids: [letter.id] }).expect(200);
    expect(named.body).toEqual({ replayed: [letter.id], skipped: [] });
    await expect(waitForStatus(t, orderId)).resolves.toMatchObject({ status: 'SHIPPED' });
    const replayed = await ordersIn.waitFor((m) => m.key === orderId && m.headers[HEADER_REPLAY_OF] === `dlq-orders/${letter.id}`, 'the replayed message on orders-in');
    expect(replayed.value.eventId).toBe(created.eventId);

    // Everything the intake group gave up on since the start of this test: this letter again, a no-op.
    const all = await t.post('/api/admin/dead-letters/replay', { all: true, group: 'order-flow-intake', since }).expect(200);
    expect(all.body.replayed).toContain(letter.id);
    await expectProcessedOnce(orderId, productId, 2);
  });

  it('operator routes refuse a client without orders.admin and bad input with the reason, and replay nothing', async () => {
    const reader = await issueTestToken({ issuer: t.op.issuer, clientId: 'order-flow-reader', clientSecret: 'reader-secret', scope: 'orders.read' });
    const asReader = { Authorization: `Bearer ${reader}` };
    const before = await ordersInEnd();

    for (const res of [
      await request(t.url).get('/api/admin/dead-letters').set(asReader),
      await request(t.url).post('/api/admin/dead-letters/replay').set(asReader).send({ all: true }),
    ]) {
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ code: 'FORBIDDEN', detail: 'This needs the scope(s): orders.admin' });
    }
    expect((await request(t.url).post('/api/admin/dead-letters/replay').send({ all: true })).status).toBe(401);

    const refusals: Array<[object, string]> = [
      [{}, 'name the letters (ids, as listed) or pass all: true'],
      [{ all: false }, 'name the letters (ids, as listed) or pass all: true'],
      [{ ids: ['0@1'], all: true }, 'either ids or all, not both'],
      [{ ids: ['0@1'], group: 'order-flow-intake' }, 'group and since select letters for all: true; named ids need neither'],
    ];
    for (const [body, detail] of refusals) {
      const res = await t.post('/api/admin/dead-letters/replay', body).expect(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', detail });
    }
    const badId = await t.post('/api/admin/dead-letters/replay', { ids: ['twelve'] }).expect(400);
    expect(badId.body.errors).toContainEqual({ field: 'ids', message: 'each id must be partition@offset, as listed' });
    const empty = await t.post('/api/admin/dead-letters/replay', { ids: [] }).expect(400);
    expect(empty.body.errors.map((e: { field: string }) => e.field)).toContain('ids');
    const badSince = await t.get('/api/admin/dead-letters?since=yesterday-ish').expect(400);
    expect(badSince.body.errors).toContainEqual({ field: 'since', message: 'since must be an ISO 8601 date-time' });
    for (const limit of ['0', '1001', 'ten']) {
      const res = await t.get(`/api/admin/dead-letters?limit=${limit}`).expect(400);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toContain('limit');
    }
    const unknownParam = await t.get('/api/admin/dead-letters?purge=true').expect(400);
    expect(unknownParam.body.errors.map((e: { field: string }) => e.field)).toContain('purge');

    const unknown = await t.post('/api/admin/dead-letters/replay', { ids: ['0@999999999'] }).expect(404);
    expect(unknown.body).toMatchObject({ code: 'NOT_FOUND', detail: 'no dead letter 0@999999999 in dlq-orders' });

    // None of these published anything.
    expect(await ordersInEnd()).toBe(before);
  });

  /** How many messages orders-in holds: a replay would add to it. */
  async function ordersInEnd(): Promise<bigint> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return (await admin.fetchTopicOffsets('orders-in')).reduce((sum, p) => sum + BigInt(p.high), 0n);
    } finally {
      await admin.disconnect();
    }
  }

  it('refuses what it cannot do, with the reason, and replays nothing', () => {
    expect(() => parseDeadLetterIds(['0@12', 'twelve'])).toThrow('not a dead letter id: twelve (expected partition@offset, as listed)');
    const unknown = dlqCli('replay', '0@999999999');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('no dead letter 0@999999999 in dlq-orders');
    const bad = dlqCli('replay', 'twelve');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('not a dead letter id: twelve');
    expect(dlqCli('replay').stderr).toContain('name the letters');
    expect(dlqCli('list', '--since', 'yesterday-ish').stderr).toContain('--since: not a time');
    expect(dlqCli('purge').status).toBe(2);
  });
});
