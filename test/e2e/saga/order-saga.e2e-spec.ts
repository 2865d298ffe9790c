import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { InventorySimulator } from '../../../src/system/inventory/inventory.simulator.js';
import { PaymentSimulator } from '../../../src/system/payment/payment.simulator.js';
import { ShippingSimulator } from '../../../src/system/shipping/shipping.simulator.js';
import { eventually } from '../../support/eventually.js';
import { checkSuiteInvariants, dlqLetters } from '../../support/invariants.js';
import { createProduct, placeOrder as placeOrderVia, stockOf, TERMINAL, waitForGroupsCaughtUp, waitForStatus } from '../../support/saga-fixtures.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';
import { TopicReader } from '../../support/topic-reader.js';
import { OUTBOX_TOPICS } from '../../support/topics.js';

const ALL_TOPICS = OUTBOX_TOPICS;

/** Every order this suite places, for the invariant check at its end. */
const placed: string[] = [];
const placeOrder: typeof placeOrderVia = async (...args) => {
  const orderId = await placeOrderVia(...args);
  placed.push(orderId);
  return orderId;
};

describe('order saga over Kafka (process + system layers, real broker and MariaDB)', () => {
  let t: TestApp;
  let reader: TopicReader;
  let dlq: TopicReader;
  let kafka: Kafka;
  let producer: Producer;
  let inventory: InventorySimulator;
  let payment: PaymentSimulator;
  let shipping: ShippingSimulator;
  /** DLQ letters before this suite's first test, plus those its tests inject on purpose. */
  let dlqAllowed = 0;

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        SAGA_INVENTORY_TIMEOUT_MS: '2000',
        SAGA_PAYMENT_TIMEOUT_MS: '1500',
        SAGA_SHIPPING_TIMEOUT_MS: '3000',
        SAGA_COMPENSATION_TIMEOUT_MS: '3000',
        SAGA_RETRY_BASE_MS: '300',
        SAGA_RETRY_MAX_MS: '1000',
        SAGA_SCHEDULER_INTERVAL_MS: '100',
        SHIPPING_DELIVERY_DELAY_MS: '300',
        SHIPPING_DELIVERY_INTERVAL_MS: '100',
        CONSUMER_MAX_ATTEMPTS: '3',
      },
    });
    inventory = t.app.get(InventorySimulator);
    payment = t.app.get(PaymentSimulator);
    shipping = t.app.get(ShippingSimulator);
    reader = await new TopicReader(ALL_TOPICS).start();
    dlq = await new TopicReader(['dlq-orders']).start();
    kafka = new Kafka({ clientId: 'test-producer', brokers: (process.env.KAFKA_BROKERS ?? '').split(','), logLevel: logLevel.NOTHING });
    producer = kafka.producer();
    await producer.connect();
    // Messages earlier suites left in the topics are consumed now: count the DLQ once they are.
    await waitForGroupsCaughtUp();
    dlqAllowed = await dlqLetters();
  });

  /** How many partitions the service created the topic with (KAFKA_TOPIC_PARTITIONS). */
  async function partitionsOf(topic: string): Promise<number> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      return topics[0].partitions.length;
    } finally {
      await admin.disconnect();
    }
  }
  afterEach(() => {
    inventory.reset();
    payment.reset();
    shipping.reset();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await reader?.stop();
    await dlq?.stop();
    await t?.close();
  });

  const history = async (orderId: string) => (await t.get(`/api/orders/${orderId}`).expect(200)).body.history.map((h: { status: string }) => h.status);
  const reservations = (orderId: string) => t.dataSource.query('SELECT product_id, quantity, status FROM stock_reservations WHERE order_id = ? ORDER BY product_id', [orderId]);
  const payments = (orderId: string) => t.dataSource.query('SELECT status, amount FROM payments WHERE order_id = ?', [orderId]);

  it('happy path: RECEIVED → … → SHIPPED, every step on Kafka, stock committed, shipment DELIVERED', async () => {
    const a = await createProduct(t, 10, 12.5);
    const b = await createProduct(t, 5, 3);
    const correlationId = `saga-${randomUUID()}`;
    const orderId = await placeOrder(
      t,
      [
        { productId: a, quantity: 2 },
        { productId: b, quantity: 1 },
      ],
      { 'X-Correlation-Id': correlationId },
    );

    expect(await waitForStatus(t, orderId)).toMatchObject({ status: 'SHIPPED' });
    expect(await history(orderId)).toEqual(['RECEIVED', 'INVENTORY_CHECK_STARTED', 'INVENTORY_CONFIRMED', 'PAYMENT_COMPLETED', 'SHIPPING_REQUESTED', 'SHIPPED']);

    const order = await eventually(
      async () => (await t.get(`/api/orders/${orderId}`)).body,
      (o) => o.fulfillment?.shipmentStatus === 'DELIVERED',
      { what: 'shipment DELIVERED' },
    );
    expect(order.total).toBe(28);
    expect(order.items).toEqual([
      { productId: a, quantity: 2, unitPrice: 12.5 },
      { productId: b, quantity: 1, unitPrice: 3 },
    ]);
    expect(order.fulfillment).toMatchObject({
      carrier: expect.any(String),
      trackingNumber: expect.stringMatching(/^SHIP-/),
      estimatedDelivery: expect.any(String),
      shipmentStatus: 'DELIVERED',
    });
    expect(order.status).toBe('SHIPPED');

    await eventually(
      () => stockOf(t, a),
      (s) => s.onHand === 8 && s.reserved === 0,
      { what: 'stock committed' },
    );
    expect(await stockOf(t, b)).toEqual({ onHand: 4, reserved: 0 });
    expect(await reservations(orderId)).toEqual(
      [
        { product_id: a, quantity: 2, status: 'COMMITTED' },
        { product_id: b, quantity: 1, status: 'COMMITTED' },
      ].sort((x, y) => x.product_id.localeCompare(y.product_id)),
    );
    expect(await payments(orderId)).toEqual([{ status: 'CHARGED', amount: 28 }]);

    // Every transition is an OrderStatusChanged, and every step is a message, all with the request's correlation id.
    const statusEvents = await eventually(
      () => reader.forOrder(orderId).filter((m) => m.topic === 'order-status'),
      (l) => l.length === 5,
      { what: 'five status events' },
    );
    expect(statusEvents.map((m) => [m.value.payload.from, m.value.payload.to])).toEqual([
      ['RECEIVED', 'INVENTORY_CHECK_STARTED'],
      ['INVENTORY_CHECK_STARTED', 'INVENTORY_CONFIRMED'],
      ['INVENTORY_CONFIRMED', 'PAYMENT_COMPLETED'],
      ['PAYMENT_COMPLETED', 'SHIPPING_REQUESTED'],
      ['SHIPPING_REQUESTED', 'SHIPPED'],
    ]);
    const types = await eventually(
      () => new Set(reader.forOrder(orderId).map((m) => `${m.topic}:${m.value.eventType}`)),
      (s) => s.has('shipping-updates:ShipmentStatusChanged') && s.has('inventory-updates:StockCommitted'),
      { what: 'all message types' },
    );
    for (const expected of [
      'orders-in:OrderCreated',
      'inventory-requests:ReserveStock',
      'inventory-replies:StockReservationConfirmed',
      'inventory-updates:StockReserved',
      'payment-requests:ChargePayment',
      'payment-replies:PaymentCharged',
      'orders-validated:OrderValidated',
      'shipping-updates:ShipmentRequested',
      'shipping-replies:ShipmentCreated',
      'shipping-updates:ShipmentStatusChanged',
      'inventory-requests:CommitStock',
      'inventory-updates:StockCommitted',
    ]) {
      expect(types).toContain(expected);
    }
    for (const m of reader.forOrder(orderId)) {
      expect(m.value.correlationId).toBe(correlationId);
      expect(m.headers['x-correlation-id']).toBe(correlationId);
      expect(m.headers['x-event-type']).toBe(m.value.eventType);
    }
    const status = await t.get(`/api/orders/${orderId}/status`).expect(200);
    expect(status.body).toEqual({ orderId, status: 'SHIPPED', updatedAt: expect.any(String) });
  });

  it('INVENTORY_FAILED with UNKNOWN_PRODUCT, nothing reserved', async () => {
    const a = await createProduct(t, 10);
    const orderId = await placeOrder(t, [
      { productId: a, quantity: 1 },
      { productId: `NOPE-${randomUUID().slice(0, 8)}`, quantity: 1 },
    ]);
    expect(await waitForStatus(t, orderId)).toMatchObject({ status: 'INVENTORY_FAILED', reason: 'UNKNOWN_PRODUCT' });
    expect(await stockOf(t, a)).toEqual({ onHand: 10, reserved: 0 });
    expect(await payments(orderId)).toEqual([]);
  });

  it('INVENTORY_FAILED with OUT_OF_STOCK when stock is short, nothing reserved', async () => {
    const a = await createProduct(t, 2);
    const orderId = await placeOrder(t, [{ productId: a, quantity: 3 }]);
    expect(await waitForStatus(t, orderId)).toMatchObject({ status: 'INVENTORY_FAILED', reason: 'OUT_OF_STOCK' });
    expect(await stockOf(t, a)).toEqual({ onHand: 2, reserved: 0 });
  });

  it('INVENTORY_FAILED with INVENTORY_UNAVAILABLE when transient failures exhaust the retries', async () => {
    inventory.configure({ failureRate: 1 });
    const a = await createProduct(t, 10);
    const orderId = await placeOrder(t, [{ productId: a, quantity: 1 }]);
    expect(await waitForStatus(t, orderId)).toMatchObject({ status: 'INVENTORY_FAILED', reason: 'INVENTORY_UNAVAILABLE' });
    const attempts = reader
      .forOrder(orderId)
      .filter((m) => m.value.eventType === 'ReserveStock')
      .map((m) => m.value.payload.attempt);
    expect(attempts).toEqual([1, 2, 3]);
    expect(await stockOf(t, a)).toEqual({ onHand: 10, reserved: 0 });
  });

  it('a transient failure that succeeds on retry', async () => {
    inventory.configure({ failureRate: 1 });
    const a = await createProduct(t, 10);
    const orderId = await placeOrder(t, [{ productId: a, quantity: 1 }]);
    // The first attempt is rejected; the saga waits its backoff before the second.
    await eventually(
      () => t.dataSource.query(`SELECT state FROM saga_steps WHERE order_id = ? AND step = 'inventory'`, [orderId]),
      (rows) => rows[0]?.state === 'RETRY',
      { intervalMs: 10, what: 'the inventory step to wait for a retry' },
    );
    inventory.configure({ failureRate: 0 });
    expect(await waitForStatus(t, orderId)).toMatchObject({ status: 'SHIPPED' });
    const attempts = reader
      .forOrder(orderId)
      .filter((m) => m.value.eventType === 'ReserveStock')
      .map((m) => m.value.payload.attempt);
    expect(attempts).toEqual([1, 2]);
  });

  it('PAYMENT_FAILED (declined) releases the reservation', async () => {
    payment.configure({ declineRate: 1 });
    const a = await createProduct(t, 10);
    const orderId = await placeOrder(t, [{ productId: a, quantity: 4 }]);
    expect(await waitForStatus(t, orderId)).toMatchObject({ status: 'PAYMENT_FAILED', reason: 'PAYMENT_DECLINED' });
    await eventually(
      () => stockOf(t, a),
      (s) => s.reserved === 0,
      { what: 'reservation released' },
    );
    expect(await stockOf(t, a)).toEqual({ onHand: 10, reserved: 0 });
    expect(await reservations(orderId)).toEqual([{ product_id: a, quantity: 4, status: 'RELEASED' }]);
    await eventually(
      () => t.dataSource.query('SELECT COUNT(*) AS n FROM saga_steps WHERE order_id = ?', [orderId]),
      (r) => Number(r[0].n) === 0,
      { what: 'compensation steps done' },
    );
  });

  it('SHIPPING_FAILED refunds the charge and releases the stock', async () => {
    shipping.configure({ failureRate: 1 });
    const a = await createProduct(t, 10, 7);
    const orderId = await placeOrder(t, [{ productId: a, quantity: 2 }]);
    expect(await waitForStatus(t, orderId)).toMatchObject({ status: 'SHIPPING_FAILED', reason: 'CARRIER_REJECTED' });
    await eventually(
      () => payments(orderId),
      (p) => p[0]?.status === 'REFUNDED',
      { what: 'refund' },
    );
    await eventually(
      () => stockOf(t, a),
      (s) => s.reserved === 0,
      { what: 'release' },
    );
    expect(await stockOf(t, a)).toEqual({ onHand: 10, reserved: 0 });
    expect(await history(orderId)).toEqual(['RECEIVED', 'INVENTORY_CHECK_STARTED', 'INVENTORY_CONFIRMED', 'PAYMENT_COMPLETED', 'SHIPPING_REQUESTED', 'SHIPPING_FAILED']);
  });

  it('a module that never answers: STEP_TIMED_OUT after the retries, with compensation', async () => {
    payment.configure({ noAnswerRate: 1 });
    const a = await createProduct(t, 10);
    const orderId = await placeOrder(t, [{ productId: a, quantity: 1 }]);
    expect(await waitForStatus(t, orderId, TERMINAL, 20000)).toMatchObject({ status: 'PAYMENT_FAILED', reason: 'STEP_TIMED_OUT' });
    const attempts = reader
      .forOrder(orderId)
      .filter((m) => m.value.eventType === 'ChargePayment')
      .map((m) => m.value.payload.attempt);
    expect(attempts).toEqual([1, 2, 3]);
    await eventually(
      () => stockOf(t, a),
      (s) => s.reserved === 0,
      { what: 'reservation released after the timeout' },
    );
  });

  it('redelivery of every message of an order changes nothing (one reservation, one charge, one shipment)', async () => {
    const a = await createProduct(t, 10);
    const orderId = await placeOrder(t, [{ productId: a, quantity: 3 }]);
    await waitForStatus(t, orderId, ['SHIPPED']);
    await eventually(
      () => t.get(`/api/orders/${orderId}`),
      (r) => r.body.fulfillment?.shipmentStatus === 'DELIVERED',
      { what: 'delivery' },
    );
    await waitForGroupsCaughtUp();
    const before = { history: await history(orderId), stock: await stockOf(t, a), reservations: await reservations(orderId), payments: await payments(orderId) };
    const shipments = async () => t.dataSource.query('SELECT tracking_number, status FROM shipments WHERE order_id = ?', [orderId]);
    const shipmentBefore = await shipments();

    const messages = reader.forOrder(orderId);
    const types = new Set(messages.map((m) => m.value.eventType));
    expect(types.size).toBeGreaterThanOrEqual(12);
    for (const m of messages) {
      await producer.send({ topic: m.topic, messages: [{ key: m.key, value: JSON.stringify(m.value), headers: m.headers }] });
    }
    await waitForGroupsCaughtUp();

    expect(await history(orderId)).toEqual(before.history);
    expect(await stockOf(t, a)).toEqual(before.stock);
    expect(await reservations(orderId)).toEqual(before.reservations);
    expect(await payments(orderId)).toEqual(before.payments);
    expect(await shipments()).toEqual(shipmentBefore);
    expect(before.stock).toEqual({ onHand: 7, reserved: 0 });
  });

  it('a poison message goes to dlq-orders with its origin, and the partition moves on', async () => {
    const marker = `poison-${randomUUID()}`;
    // One poison message on every partition of orders-in, so the next order lands behind one.
    const partitions = await partitionsOf('orders-in');
    expect(partitions).toBeGreaterThan(0);
    for (let partition = 0; partition < partitions; partition++) {
      await producer.send({
        topic: 'orders-in',
        messages: [{ partition, key: marker, value: `{"not":"an envelope","marker":"${marker}"}`, headers: { 'x-correlation-id': marker } }],
      });
    }
    dlqAllowed += partitions;
    const letters = await eventually(
      () => dlq.messages.filter((m) => m.value?.value?.includes(marker)),
      (l) => l.length === partitions,
      { what: 'a dead letter per partition' },
    );
    for (const letter of letters) {
      expect(letter.value).toMatchObject({
        originTopic: 'orders-in',
        consumerGroup: 'order-flow-intake',
        attempts: 1,
        key: marker,
        reason: 'INVALID_MESSAGE',
        error: expect.stringContaining('invalid envelope'),
      });
      expect(typeof letter.value.offset).toBe('string');
      expect(letter.value.partition).toBeGreaterThanOrEqual(0);
      expect(letter.headers['x-correlation-id']).toBe(marker);
    }
    const a = await createProduct(t, 10);
    const orderId = await placeOrder(t, [{ productId: a, quantity: 1 }]);
    expect(await waitForStatus(t, orderId)).toMatchObject({ status: 'SHIPPED' });
  });

  it('a message failing inside a batch rolls the batch back; its messages then run one by one: the others take effect, it is dead-lettered', async () => {
    const a = await createProduct(t, 10);
    const orderId = await placeOrder(t, [{ productId: a, quantity: 1 }]);
    await waitForStatus(t, orderId, ['SHIPPED']);
    // The shipment's last change (DELIVERED), so no later one of the real shipment overwrites the
    // tracking number this test sets.
    const status = await eventually(
      () => reader.forOrder(orderId).find((m) => m.value.eventType === 'ShipmentStatusChanged' && m.value.payload.status === 'DELIVERED'),
      (m) => m !== undefined,
      { what: 'ShipmentStatusChanged DELIVERED' },
    );
    await waitForGroupsCaughtUp();

    // A valid status change of the real order, then one of an order that does not exist (a message
    // the saga cannot process). Same key, one send: one partition, in practice one fetched batch.
    const trackingNumber = `SHIP-BATCH${Date.now()}`;
    const good = { ...status!.value, eventId: randomUUID(), payload: { ...status!.value.payload, trackingNumber } };
    const ghostOrder = randomUUID();
    dlqAllowed += 1;
    const ghost = { ...status!.value, eventId: randomUUID(), orderId: ghostOrder };
    await producer.send({
      topic: 'shipping-updates',
      messages: [good, ghost].map((value) => ({ key: orderId, value: JSON.stringify(value), headers: status!.headers })),
    });

    const [letter] = await eventually(
      () => dlq.messages.filter((m) => m.value?.value?.includes(ghostOrder)),
      (l) => l.length > 0,
      { what: 'the dead letter of the ghost order' },
    );
    expect(letter.value).toMatchObject({ originTopic: 'shipping-updates', consumerGroup: 'order-flow-process', error: expect.stringContaining(`no order ${ghostOrder}`) });
    await eventually(
      () => t.get(`/api/orders/${orderId}`),
      (r) => r.body.fulfillment?.trackingNumber === trackingNumber,
      { what: 'the status change before it applied' },
    );
    const inbox = await t.dataSource.query('SELECT COUNT(*) AS n FROM processed_messages WHERE consumer_group = ? AND event_id IN (?, ?)', [
      'order-flow-process',
      good.eventId,
      ghost.eventId,
    ]);
    expect(Number(inbox[0].n)).toBe(1); // the good one only: the ghost's work and inbox row rolled back
  });

  it('versioning: a message of the same major with extra fields is processed, one of an unknown major is dead-lettered as UNSUPPORTED_SCHEMA_VERSION', async () => {
    const a = await createProduct(t, 10);
    const orderId = await placeOrder(t, [{ productId: a, quantity: 1 }]);
    await waitForStatus(t, orderId, ['SHIPPED']);
    const status = await eventually(
      () => reader.forOrder(orderId).find((m) => m.value.eventType === 'ShipmentStatusChanged' && m.value.payload.status === 'DELIVERED'),
      (m) => m !== undefined,
      { what: 'ShipmentStatusChanged DELIVERED' },
    );
    await waitForGroupsCaughtUp();

    // As a newer producer of the same major version would write it: a field more in the envelope and in the payload.
    const newer = `SHIP-NEWER${Date.now()}`;
    const extended = { ...status!.value, eventId: randomUUID(), producedBy: 'order-flow 9', payload: { ...status!.value.payload, trackingNumber: newer, signedBy: 'A. Smith' } };
    // A major version this code does not know, with a tracking number that must never apply.
    const future = { ...status!.value, eventId: randomUUID(), schemaVersion: 99, payload: { ...status!.value.payload, trackingNumber: `SHIP-FUTURE${Date.now()}` } };
    // Both groups that read shipping-updates (process, and shipping, which passes over status changes) dead-letter it.
    dlqAllowed += 2;
    await producer.send({
      topic: 'shipping-updates',
      messages: [extended, future].map((value) => ({ key: orderId, value: JSON.stringify(value), headers: status!.headers })),
    });

    await eventually(
      () => t.get(`/api/orders/${orderId}`),
      (r) => r.body.fulfillment?.trackingNumber === newer,
      { what: 'the status change with extra fields applied' },
    );
    const letters = await eventually(
      () => dlq.messages.filter((m) => m.value?.value?.includes(future.eventId)),
      (l) => l.length === 2,
      { what: 'the dead letters of the unknown major version' },
    );
    expect(letters.map((l) => l.value.consumerGroup).sort()).toEqual(['order-flow-process', 'order-flow-shipping']);
    for (const letter of letters) {
      expect(letter.value).toMatchObject({
        originTopic: 'shipping-updates',
        reason: 'UNSUPPORTED_SCHEMA_VERSION',
        attempts: 1,
        key: orderId,
        error: 'unsupported schemaVersion 99 of ShipmentStatusChanged (this consumer reads major 1)',
      });
      expect(letter.headers['x-event-type']).toBe('DeadLetter');
    }
    expect((await t.get(`/api/orders/${orderId}`).expect(200)).body.fulfillment.trackingNumber).toBe(newer);
    const inbox = await t.dataSource.query('SELECT consumer_group FROM processed_messages WHERE event_id = ? ORDER BY consumer_group', [extended.eventId]);
    expect(inbox.map((r: { consumer_group: string }) => r.consumer_group)).toEqual(['order-flow-process']);
  });

  it('200 concurrent orders under the dev failure rates all end terminal, with stock conserved', async () => {
    inventory.configure({ failureRate: 0.3 });
    payment.configure({ declineRate: 0.15, transientRate: 0.2, noAnswerRate: 0.05 });
    shipping.configure({ failureRate: 0.1 });
    const products = await Promise.all([createProduct(t, 60), createProduct(t, 60), createProduct(t, 60), createProduct(t, 60)]);
    const before = await Promise.all(products.map((p) => stockOf(t, p)));
    const lines = Array.from({ length: 200 }, (_, i) => [
      { productId: products[i % 4], quantity: 1 + (i % 3) },
      ...(i % 5 === 0 ? [{ productId: products[(i + 1) % 4], quantity: 1 }] : []),
    ]);
    const orderIds: string[] = [];
    for (let i = 0; i < lines.length; i += 50) orderIds.push(...(await Promise.all(lines.slice(i, i + 50).map((l) => placeOrder(t, l)))));

    const finals = await eventually(
      async () => (await t.dataSource.query(`SELECT id, status FROM orders WHERE id IN (${orderIds.map(() => '?').join(',')})`, orderIds)) as Array<{ id: string; status: string }>,
      (rows) => rows.every((r) => TERMINAL.includes(r.status)),
      { timeoutMs: 120000, intervalMs: 500, what: '200 orders to end' },
    );
    const byStatus = finals.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {});
    expect(byStatus.SHIPPED).toBeGreaterThan(0);
    expect(Object.keys(byStatus).length).toBeGreaterThanOrEqual(3);

    // Compensations finish; then nothing is left reserved and on-hand dropped by exactly what shipped.
    await eventually(
      () => t.dataSource.query(`SELECT COUNT(*) AS n FROM saga_steps WHERE order_id IN (${orderIds.map(() => '?').join(',')})`, orderIds),
      (r) => Number(r[0].n) === 0,
      { timeoutMs: 60000, what: 'all saga steps done' },
    );
    const shipped = new Set(finals.filter((r) => r.status === 'SHIPPED').map((r) => r.id));
    for (const [i, productId] of products.entries()) {
      const expectedShipped = lines.reduce((sum, l, k) => sum + (shipped.has(orderIds[k]) ? l.filter((x) => x.productId === productId).reduce((s, x) => s + x.quantity, 0) : 0), 0);
      await eventually(
        () => stockOf(t, productId),
        (s) => s.reserved === 0 && before[i].onHand - s.onHand === expectedShipped,
        { timeoutMs: 30000, what: `stock of ${productId} conserved` },
      );
    }
    const [{ n: charges }] = await t.dataSource.query(
      `SELECT COUNT(*) AS n FROM payments WHERE status = 'CHARGED' AND order_id IN (${orderIds.map(() => '?').join(',')})`,
      orderIds,
    );
    expect(Number(charges)).toBe(shipped.size);
  });

  // Last: every order above, with its compensations settled, keeps I1–I7 (the DLQ holds only the
  // letters injected above, and the service never answered a 500).
  it('leaves every invariant intact for the orders it placed', async () => {
    const report = await checkSuiteInvariants(t.dataSource, placed, { allowDlq: dlqAllowed, metricsUrls: [`${t.url}/metrics`] });
    expect(report.violations).toEqual([]);
    expect(report.notChecked).toEqual([]);
    expect(report.orders).toBe(placed.length);
  });
});
