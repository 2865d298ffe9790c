import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { HEADER_CORRELATION_ID, HEADER_EVENT_TYPE, newEnvelope } from '../../../src/contracts/envelope.js';
import { leanTransaction } from '../../../src/platform/database/sql-batch.js';
import { HEADER_REPLAY_OF, parseDeadLetterIds, readDeadLetters, type StoredDeadLetter } from '../../../src/platform/messaging/dead-letters.js';
import { OrderStoreService } from '../../../src/platform/order-store/order-store.service.js';
import { eventually } from '../../support/eventually.js';
import { createProduct, stockOf, waitForGroupsCaughtUp, waitForStatus } from '../../support/saga-fixtures.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';
import { TopicReader } from '../../support/topic-reader.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');

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
 * DESIGN §1: operators reprocess dead letters. A message the saga gave up on (its order was not
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

  it('lists the letter, replays it once the order exists, and a second replay changes nothing', async () => {
    const productId = await createProduct(t, 10);
    const orderId = randomUUID();
    const correlationId = `dlq-replay-${randomUUID()}`;
    const customer = { externalId: `cust-${randomUUID().slice(0, 8)}`, name: 'Edsger Dijkstra', email: 'edsger@example.com' };
    const shippingAddress = { line1: 'Plantage Muidergracht 24', city: 'Amsterdam', postalCode: '1018TV', country: 'NL' };
    const items = [{ productId, quantity: 3 }];
    const created = newEnvelope(
      'OrderCreated',
      orderId,
      { customer: { id: randomUUID(), name: customer.name, email: customer.email }, shippingAddress, items, currency: 'EUR' },
      { correlationId },
    );

    // The saga gets OrderCreated before its order is in the database: a poison message.
    await producer.send({
      topic: 'orders-in',
      messages: [{ key: orderId, value: JSON.stringify(created), headers: { [HEADER_CORRELATION_ID]: correlationId, [HEADER_EVENT_TYPE]: 'OrderCreated' } }],
    });
    const letter = await eventually(
      async () => (await readDeadLetters(kafka, 'dlq-orders', 'order-flow-', { consumerGroup: 'order-flow-intake' })).find((l) => l.key === orderId),
      Boolean,
      { what: 'the dead letter of the early OrderCreated', timeoutMs: 30000 },
    );
    expect(letter).toMatchObject({ originTopic: 'orders-in', consumerGroup: 'order-flow-intake', attempts: 1, error: expect.stringContaining(`no order ${orderId}`) });
    expect(JSON.parse(letter!.value!).eventId).toBe(created.eventId);

    // The operator's listing shows it, with its id, origin and reason.
    const listed = dlqCli('list', '--group', 'order-flow-intake');
    expect(listed.status).toBe(0);
    const line = listed.stdout.split('\n').find((l) => l.startsWith(`${letter!.id} `));
    expect(line).toContain(`order-flow-intake  orders-in/${letter!.partition}@${letter!.offset}  OrderCreated  key ${orderId}  attempts 1`);
    expect(line).toContain(`no order ${orderId}`);
    const asJson = JSON.parse(dlqCli('list', '--json', '--group', 'order-flow-intake').stdout) as StoredDeadLetter[];
    expect(asJson.find((l) => l.id === letter!.id)).toEqual(letter);

    // The cause goes away: the order is in the database now, as the intake would have written it.
    const store = t.app.get(OrderStoreService);
    await leanTransaction(t.dataSource, (tx) =>
      store.writeReceived((batch, last) => tx.run(batch, { commit: last }), { id: orderId, customer, shippingAddress, items, currency: 'EUR', correlationId, at: new Date() }),
    );

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
    await eventually(
      () => ordersIn.forOrder(orderId).filter((m) => m.headers[HEADER_REPLAY_OF]).length,
      (n) => n === 2,
      { what: 'the second replay on orders-in' },
    );
    await waitForGroupsCaughtUp();
    const history = (await t.get(`/api/orders/${orderId}`).expect(200)).body.history.map((h: { status: string }) => h.status);
    expect(history.filter((s: string) => s === 'INVENTORY_CHECK_STARTED')).toHaveLength(1);
    expect(history.filter((s: string) => s === 'SHIPPED')).toHaveLength(1);
    const [{ n: charges }] = await t.dataSource.query("SELECT COUNT(*) AS n FROM payments WHERE order_id = ? AND status <> 'REFUNDED'", [orderId]);
    expect(Number(charges)).toBe(1);
    expect(await stockOf(t, productId)).toEqual({ onHand: 7, reserved: 0 });
  });

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
