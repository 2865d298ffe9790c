import { startKafka, stopKafka } from '../../../scripts/kafka.mjs';
import { eventually } from '../../support/eventually.js';
import { startTestApp, validOrderBody, type TestApp } from '../../support/test-app.js';
import { TopicReader } from '../../support/topic-reader.js';

const port = Number(process.env.TEST_KAFKA_PORT ?? 0);
const dataDir = process.env.TEST_KAFKA_DATA_DIR;
const broker = { port, controllerPort: port + 1, dataDir, env: { ...process.env, KAFKA_BROKERS: '' }, log: false as const };

// Needs the local test broker that scripts/test.mjs starts (it cannot stop someone else's cluster).
const describeWithLocalBroker = port && dataDir ? describe : describe.skip;

describeWithLocalBroker('Kafka outage (DESIGN §7.2): intake and status reads keep working, the backlog follows', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ layers: ['experience', 'system'], groups: [], env: { OUTBOX_RETRY_BACKOFF_MAX_MS: '1000', OUTBOX_POLL_INTERVAL_MS: '200' } });
  });
  afterAll(async () => {
    await startKafka(broker); // leave the broker running for the suites after this one
    await t?.close();
  });

  it('accepts orders with the broker down and publishes each exactly once, in order, when it returns', async () => {
    await stopKafka(broker);
    const orderIds: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await t.post('/api/orders', validOrderBody({ items: [{ productId: 'SKU-1003', quantity: i + 1 }] })).expect(202);
      orderIds.push(res.body.orderId);
      const status = await t.get(`/api/orders/${res.body.orderId}/status`).expect(200);
      expect(status.body.status).toBe('RECEIVED');
      await t.get(`/api/orders/${res.body.orderId}`).expect(200);
    }
    // The relay cannot publish: the messages wait in the outbox, and readiness reports Kafka down.
    const [{ n: waiting }] = await t.dataSource.query(`SELECT COUNT(*) AS n FROM outbox WHERE message_key IN (${orderIds.map(() => '?').join(',')})`, orderIds);
    expect(Number(waiting)).toBe(5);
    const ready = await eventually(
      () => t.get('/health/ready'),
      (r) => r.status === 503,
      { what: 'readiness to report Kafka down' },
    );
    expect(ready.body.details?.kafka?.status).toBe('down');

    await startKafka(broker);
    await eventually(
      async () => Number((await t.dataSource.query(`SELECT COUNT(*) AS n FROM outbox WHERE message_key IN (${orderIds.map(() => '?').join(',')})`, orderIds))[0].n),
      (n) => n === 0,
      {
        timeoutMs: 60000,
        what: 'the backlog to be published',
      },
    );

    const reader = await new TopicReader(['orders-in']).start();
    try {
      await eventually(() => orderIds.every((id) => reader.forOrder(id).length > 0), Boolean, { what: 'every order on orders-in' });
      // Give any duplicate a chance to show up: read until the end of the topic.
      await eventually(
        () => reader.messages.length,
        (n) => n > 0,
        { what: 'reader progress' },
      );
      for (const id of orderIds) {
        const messages = reader.forOrder(id);
        expect(messages).toHaveLength(1);
        expect(messages[0].value).toMatchObject({ eventType: 'OrderCreated', orderId: id });
      }
      // Orders accepted one after the other leave in that order within each partition.
      const byPartition = new Map<number, number[]>();
      for (const m of reader.messages.filter((x) => orderIds.includes(x.key ?? ''))) {
        byPartition.set(m.partition, [...(byPartition.get(m.partition) ?? []), orderIds.indexOf(m.key!)]);
      }
      for (const seq of byPartition.values()) expect(seq).toEqual([...seq].sort((a, b) => a - b));
    } finally {
      await reader.stop();
    }
    await eventually(
      () => t.get('/health/ready'),
      (r) => r.status === 200,
      { timeoutMs: 30000, what: 'readiness back' },
    );
  });
});
