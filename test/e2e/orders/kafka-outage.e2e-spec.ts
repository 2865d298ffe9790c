import { startKafka, stopKafka } from '../../../scripts/kafka.mjs';
import { eventually } from '../../support/eventually.js';
import { createProduct, placeOrder, TERMINAL, waitForStatus } from '../../support/saga-fixtures.js';
import { startTestApp, validOrderBody, type TestApp } from '../../support/test-app.js';
import { TopicReader } from '../../support/topic-reader.js';
import { GROUP_TOPICS } from '../../support/topics.js';

const port = Number(process.env.TEST_KAFKA_PORT ?? 0);
const dataDir = process.env.TEST_KAFKA_DATA_DIR;
const broker = { port, controllerPort: port + 1, dataDir, env: { ...process.env, KAFKA_BROKERS: '' }, log: false as const };

// Needs the local test broker that scripts/test.mjs starts (it cannot stop someone else's cluster).
const describeWithLocalBroker = port && dataDir ? describe : describe.skip;

describeWithLocalBroker('Kafka outage (docs/architecture.md §7.2): intake and status reads keep working, the backlog follows', () => {
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
    // The relay cannot publish: the messages wait in the outbox. The process still serves HTTP, so it
    // stays ready; the body says the relay is backing off, and why.
    const [{ n: waiting }] = await t.dataSource.query(`SELECT COUNT(*) AS n FROM outbox WHERE message_key IN (${orderIds.map(() => '?').join(',')})`, orderIds);
    expect(Number(waiting)).toBe(5);
    const ready = await eventually(
      () => t.get('/health/ready'),
      (r) => r.body?.details?.relay?.state === 'backing-off',
      { timeoutMs: 30000, what: 'readiness to show the relay backing off' },
    );
    expect(ready.status).toBe(200);
    expect(ready.body.details.relay).toMatchObject({ status: 'up', state: 'backing-off', failedPasses: expect.any(Number), lastError: { message: expect.any(String) } });

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
    const recovered = await eventually(
      () => t.get('/health/ready'),
      (r) => r.body?.details?.relay?.state === 'running',
      { timeoutMs: 30000, what: 'the relay running again' },
    );
    expect(recovered.status).toBe(200);
    expect(Date.parse(recovered.body.details.relay.lastPublishedAt)).toBeGreaterThan(Date.parse(recovered.body.details.relay.lastError.at));
  });
});

describeWithLocalBroker('a broker restart with every layer and consumer group running: ready throughout, the groups come back', () => {
  let t: TestApp;
  const groups = Object.keys(GROUP_TOPICS);
  const states = async () =>
    (await t.get('/health/ready')).body?.details?.consumers?.groups as Record<string, { state: string; since: string; lastError: string | null }> | undefined;

  beforeAll(async () => {
    t = await startTestApp({ env: { OUTBOX_RETRY_BACKOFF_MAX_MS: '1000', OUTBOX_POLL_INTERVAL_MS: '200' } });
  }, 60000);
  afterAll(async () => {
    await startKafka(broker);
    await t?.close();
  });

  it('stays ready (200) while the broker is away; every group shows reconnecting, then connected within 30 s of its return, and the orders complete', async () => {
    expect(Object.keys((await states()) ?? {}).sort()).toEqual([...groups].sort());
    const productId = await createProduct(t, 100);
    await waitForStatus(t, await placeOrder(t, [{ productId, quantity: 1 }]), ['SHIPPED']);

    await stopKafka(broker);
    // Readiness is asked all along the outage; every answer must be 200.
    const answers: number[] = [];
    let probing = true;
    const probe = (async () => {
      while (probing) {
        answers.push((await t.get('/health/ready')).status);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    try {
      const during: string[] = [];
      for (let i = 0; i < 3; i++) during.push(await placeOrder(t, [{ productId, quantity: 1 }]));
      // The health says what is true: no group runs without its broker.
      const away = await eventually(states, (s) => !!s && groups.every((g) => s[g]?.state === 'reconnecting'), { timeoutMs: 60000, what: 'every group reconnecting' });
      expect(away).toBeDefined();

      await startKafka(broker);
      const back = Date.now();
      await eventually(states, (s) => !!s && groups.every((g) => s[g]?.state === 'connected'), { timeoutMs: 30000, intervalMs: 250, what: 'every group connected again' });
      const reconnectedInMs = Date.now() - back;
      console.log(`every consumer group connected ${reconnectedInMs} ms after the broker was ready again`);

      for (const orderId of during) expect(await waitForStatus(t, orderId, TERMINAL, 60000)).toMatchObject({ status: 'SHIPPED' });
    } finally {
      probing = false;
      await probe;
    }
    expect(answers.length).toBeGreaterThan(10);
    expect(answers.filter((s) => s !== 200)).toEqual([]);
    await t.get('/health/live').expect(200);
  }, 180000);
});
