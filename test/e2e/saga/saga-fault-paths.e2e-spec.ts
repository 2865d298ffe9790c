import { jest } from '@jest/globals';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { OrderSagaService } from '../../../src/process/orders/order-saga.service.js';
import { SagaStepScheduler } from '../../../src/process/orders/saga-step.scheduler.js';
import { PaymentSimulator } from '../../../src/system/payment/payment.simulator.js';
import { ShippingSimulator } from '../../../src/system/shipping/shipping.simulator.js';
import { eventually } from '../../support/eventually.js';
import { checkSuiteInvariants } from '../../support/invariants.js';
import { createProduct, placeOrder as placeOrderVia, stockOf, TERMINAL, waitForStatus } from '../../support/saga-fixtures.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';
import { TopicReader } from '../../support/topic-reader.js';

/**
 * The saga's fault paths (no order lost, no double effect): late successes undone, forward commands
 * after a compensation refused, deadlines that measure the other system rather than our own backlog,
 * stalled orders swept, compensations bounded, one bad step never stopping the others, one clock.
 */
const FAST = {
  SAGA_INVENTORY_TIMEOUT_MS: '1500',
  SAGA_PAYMENT_TIMEOUT_MS: '600',
  SAGA_PAYMENT_MAX_ATTEMPTS: '2',
  SAGA_SHIPPING_TIMEOUT_MS: '800',
  SAGA_COMPENSATION_TIMEOUT_MS: '1000',
  SAGA_COMPENSATION_MAX_ATTEMPTS: '8',
  SAGA_RETRY_BASE_MS: '200',
  SAGA_RETRY_MAX_MS: '500',
  SAGA_SCHEDULER_INTERVAL_MS: '100',
  SAGA_DELIVERY_GRACE_MS: '300000',
  SAGA_STALLED_AFTER_MS: '120000',
  SAGA_SWEEP_INTERVAL_MS: '5000',
  SHIPPING_DELIVERY_DELAY_MS: '300',
  SHIPPING_DELIVERY_INTERVAL_MS: '100',
};

/** Every order this suite places, for the invariant check at the end of each part. */
let placed: string[] = [];
const placeOrder: typeof placeOrderVia = async (...args) => {
  const orderId = await placeOrderVia(...args);
  placed.push(orderId);
  return orderId;
};

/** Last in each part: its orders, with their compensations settled, keep I1–I5 and I7. */
function itLeavesTheInvariantsIntact(app: () => TestApp): void {
  it('leaves every invariant intact for the orders it placed', async () => {
    const report = await checkSuiteInvariants(app().dataSource, placed, { metricsUrls: [`${app().url}/metrics`] });
    expect(report.violations).toEqual([]);
    placed = [];
  });
}

const rowsOf = (t: TestApp, table: 'stock_reservations' | 'payments' | 'shipments', orderId: string) =>
  t.dataSource.query(`SELECT status FROM ${table} WHERE order_id = ? ORDER BY status`, [orderId]) as Promise<Array<{ status: string }>>;
const stepOf = async (t: TestApp, orderId: string, step: string) =>
  (
    (await t.dataSource.query(
      'SELECT state, attempt, due_at > UTC_TIMESTAMP(3) AS later, TIMESTAMPDIFF(MICROSECOND, sent_at, UTC_TIMESTAMP(3)) / 1000 AS age_ms FROM saga_steps WHERE order_id = ? AND step = ?',
      [orderId, step],
    )) as Array<{
      state: string;
      attempt: number;
      later: number;
      age_ms: number;
    }>
  )[0];

describe('saga fault paths: every layer in one app (real broker and MariaDB)', () => {
  let t: TestApp;
  let payment: PaymentSimulator;
  let shipping: ShippingSimulator;
  let reader: TopicReader;
  let producer: Producer;

  beforeAll(async () => {
    t = await startTestApp({ env: FAST });
    payment = t.app.get(PaymentSimulator);
    shipping = t.app.get(ShippingSimulator);
    reader = await new TopicReader(['payment-requests', 'payment-replies', 'shipping-replies']).start();
    producer = new Kafka({ clientId: 'test-fault-paths', brokers: (process.env.KAFKA_BROKERS ?? '').split(','), logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
  });
  afterEach(() => {
    payment.reset();
    shipping.reset();
    jest.restoreAllMocks();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await reader?.stop();
    await t?.close();
  });

  it('a shipment that comes after the saga gave up is cancelled (never delivered), the charge refunded and the stock released', async () => {
    // The carrier answers after the shipping deadline; delivery would follow long after.
    shipping.configure({ failureRate: 0, latency: { minMs: 2500, maxMs: 2500 }, deliveryDelayMs: 60000 });
    const a = await createProduct(t, 5);
    const orderId = await placeOrder(t, [{ productId: a, quantity: 2 }]);
    expect(await waitForStatus(t, orderId, TERMINAL, 30000)).toMatchObject({ status: 'SHIPPING_FAILED', reason: 'STEP_TIMED_OUT' });
    // The late ShipmentCreated reaches the saga too.
    await reader.waitFor((m) => m.key === orderId && m.value.eventType === 'ShipmentCreated', 'the late ShipmentCreated');

    await eventually(
      async () => ({
        shipments: await rowsOf(t, 'shipments', orderId),
        payments: await rowsOf(t, 'payments', orderId),
        reservations: await rowsOf(t, 'stock_reservations', orderId),
      }),
      (r) => r.shipments[0]?.status === 'CANCELLED' && r.payments[0]?.status === 'REFUNDED' && r.reservations[0]?.status === 'RELEASED',
      { timeoutMs: 20000, what: 'shipment cancelled, charge refunded, stock released' },
    );
    expect(await stockOf(t, a)).toEqual({ onHand: 5, reserved: 0 });
    const order = await eventually(
      () => t.get(`/api/orders/${orderId}`),
      (r) => r.body.fulfillment?.shipmentStatus === 'CANCELLED',
      { what: 'the order showing its shipment CANCELLED' },
    );
    expect(order.body.status).toBe('SHIPPING_FAILED');
  });

  it('a charge command that arrives after the saga gave up (a DLQ replay, an offset reset) is refused: nothing charged', async () => {
    payment.configure({ noAnswerRate: 1 });
    const a = await createProduct(t, 5);
    const orderId = await placeOrder(t, [{ productId: a, quantity: 1 }]);
    expect(await waitForStatus(t, orderId, TERMINAL, 30000)).toMatchObject({ status: 'PAYMENT_FAILED', reason: 'STEP_TIMED_OUT' });
    await eventually(
      () => t.dataSource.query('SELECT 1 FROM saga_steps WHERE order_id = ?', [orderId]),
      (rows) => rows.length === 0,
      { what: 'the compensations to finish' },
    );
    payment.reset(); // the provider answers again

    const charge = reader.forOrder(orderId).find((m) => m.topic === 'payment-requests' && m.value.eventType === 'ChargePayment')!;
    await producer.send({
      topic: 'payment-requests',
      messages: [{ key: orderId, value: JSON.stringify({ ...charge.value, eventId: crypto.randomUUID() }), headers: charge.headers }],
    });
    const answer = await reader.waitFor((m) => m.key === orderId && m.value.eventType === 'PaymentRejected', 'the refusal');
    expect(answer.value.payload).toMatchObject({ reason: 'ORDER_COMPENSATED', transient: false });
    expect(await rowsOf(t, 'payments', orderId)).toEqual([]);
    expect((await t.get(`/api/orders/${orderId}/status`).expect(200)).body.status).toBe('PAYMENT_FAILED');
  });

  it('one due step whose handling keeps failing holds up no other: it is looked at again later, the others time out as usual', async () => {
    payment.configure({ noAnswerRate: 1 });
    const saga = t.app.get(OrderSagaService);
    const real = saga.stepsDue.bind(saga);
    const a = await createProduct(t, 5);
    const bad = await placeOrder(t, [{ productId: a, quantity: 1 }]);
    await waitForStatus(t, bad, ['INVENTORY_CONFIRMED']);
    const good = await placeOrder(t, [{ productId: a, quantity: 1 }]);
    // Due steps are advanced many to a transaction: the bad one fails its whole chunk, which then goes one by one.
    jest.spyOn(saga, 'stepsDue').mockImplementation((tx, due) => (due.some((d) => d.orderId === bad) ? Promise.reject(new TypeError('a bug in one step row')) : real(tx, due)));

    expect(await waitForStatus(t, good, TERMINAL, 30000)).toMatchObject({ status: 'PAYMENT_FAILED', reason: 'STEP_TIMED_OUT' });
    expect((await t.get(`/api/orders/${bad}/status`).expect(200)).body.status).toBe('INVENTORY_CONFIRMED');
    expect(await stepOf(t, bad, 'payment')).toMatchObject({ state: 'WAITING', later: 1 });

    jest.restoreAllMocks();
    await t.dataSource.query('UPDATE saga_steps SET due_at = UTC_TIMESTAMP(3) WHERE order_id = ?', [bad]);
    expect(await waitForStatus(t, bad, TERMINAL, 30000)).toMatchObject({ status: 'PAYMENT_FAILED', reason: 'STEP_TIMED_OUT' });
  });

  it('due steps go many to a transaction, which skips an order another transaction holds instead of waiting for it', async () => {
    payment.configure({ noAnswerRate: 1 });
    const a = await createProduct(t, 5);
    const held = await placeOrder(t, [{ productId: a, quantity: 1 }]);
    await waitForStatus(t, held, ['INVENTORY_CONFIRMED']);
    const holder = t.dataSource.createQueryRunner();
    await holder.connect();
    // This session stands for a live transaction, not a hung one: the database must not end it.
    await holder.query('SET @t = 1 /*M!100300 , SESSION idle_transaction_timeout = 0 */');
    await holder.startTransaction();
    try {
      // Held before its payment step is due, and through the deadlines of two other orders' steps.
      await holder.query('SELECT id FROM orders WHERE id = ? FOR UPDATE', [held]);
      const before = await stepOf(t, held, 'payment');
      const free = [await placeOrder(t, [{ productId: a, quantity: 1 }]), await placeOrder(t, [{ productId: a, quantity: 1 }])];
      for (const id of free) expect(await waitForStatus(t, id, TERMINAL, 30000)).toMatchObject({ status: 'PAYMENT_FAILED', reason: 'STEP_TIMED_OUT' });
      expect(await stepOf(t, held, 'payment')).toMatchObject({ state: 'WAITING', attempt: before.attempt });
    } finally {
      await holder.rollbackTransaction();
      await holder.release();
    }
    expect(await waitForStatus(t, held, TERMINAL, 30000)).toMatchObject({ status: 'PAYMENT_FAILED', reason: 'STEP_TIMED_OUT' });
  });

  it("deadlines use the database's clock: a replica whose clock runs an hour ahead times out nothing early", async () => {
    payment.configure({ noAnswerRate: 1 });
    await t.dataSource.query("UPDATE saga_steps SET due_at = UTC_TIMESTAMP(3) + INTERVAL 1 HOUR WHERE step = 'payment'"); // other tests' leftovers stay out of the way
    const a = await createProduct(t, 5);
    const orderId = await placeOrder(t, [{ productId: a, quantity: 1 }]);
    await waitForStatus(t, orderId, ['INVENTORY_CONFIRMED']);
    await t.dataSource.query("UPDATE saga_steps SET due_at = UTC_TIMESTAMP(3) + INTERVAL 10 MINUTE WHERE order_id = ? AND step = 'payment'", [orderId]);
    const before = await stepOf(t, orderId, 'payment');

    const scheduler = t.app.get(SagaStepScheduler);
    jest.useFakeTimers({
      now: Date.now() + 60 * 60 * 1000,
      doNotFake: ['hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'],
    });
    try {
      await scheduler.tick();
      await scheduler.tick();
    } finally {
      jest.useRealTimers();
    }
    expect(await stepOf(t, orderId, 'payment')).toMatchObject({ state: 'WAITING', attempt: before.attempt, later: 1 });
    expect((await t.get(`/api/orders/${orderId}/status`).expect(200)).body.status).toBe('INVENTORY_CONFIRMED');
    await t.dataSource.query("UPDATE saga_steps SET due_at = UTC_TIMESTAMP(3) WHERE step = 'payment'");
    await waitForStatus(t, orderId, TERMINAL, 30000);
  });
  itLeavesTheInvariantsIntact(() => t);
});

describe('saga fault paths: a system module whose consumer group is down (real broker and MariaDB)', () => {
  let t: TestApp;
  let paymentApp: TestApp | undefined;
  beforeAll(async () => {
    t = await startTestApp({ groups: ['intake', 'process', 'inventory', 'shipping'], env: FAST });
  });
  afterAll(async () => {
    await paymentApp?.close();
    await t?.close();
  });

  it('costs the order no attempt: it waits, and continues once the group is back', async () => {
    const a = await createProduct(t, 5);
    const orderId = await placeOrder(t, [{ productId: a, quantity: 1 }]);
    await waitForStatus(t, orderId, ['INVENTORY_CONFIRMED']);
    // Well past the payment step's attempts (2 × 600 ms) and their backoff.
    await eventually(
      () => stepOf(t, orderId, 'payment'),
      (s) => s !== undefined && s.age_ms > 5000,
      { timeoutMs: 20000, what: 'the charge to wait 5 s for the payment group' },
    );
    expect(await stepOf(t, orderId, 'payment')).toMatchObject({ state: 'WAITING', attempt: 1 });
    expect((await t.get(`/api/orders/${orderId}/status`).expect(200)).body.status).toBe('INVENTORY_CONFIRMED');

    paymentApp = await startTestApp({ layers: ['system'], groups: ['payment'], env: FAST });
    expect(await waitForStatus(t, orderId, TERMINAL, 30000)).toMatchObject({ status: 'SHIPPED' });
  });
  itLeavesTheInvariantsIntact(() => t);
});

describe('saga fault paths: stalled orders and bounded compensations (real broker and MariaDB)', () => {
  let t: TestApp;
  beforeAll(async () => {
    // No intake group (new orders are never read from Kafka) and no payment group (refunds never taken).
    t = await startTestApp({
      groups: ['process', 'inventory', 'shipping'],
      env: {
        ...FAST,
        SAGA_STALLED_AFTER_MS: '1500',
        SAGA_SWEEP_INTERVAL_MS: '200',
        SAGA_DELIVERY_GRACE_MS: '800',
        SAGA_COMPENSATION_TIMEOUT_MS: '200',
        SAGA_COMPENSATION_MAX_ATTEMPTS: '2',
      },
    });
  });
  afterAll(() => t?.close());

  it('an order whose OrderCreated is never handled is driven on by the sweeper, and counted', async () => {
    const a = await createProduct(t, 5);
    const orderId = await placeOrder(t, [{ productId: a, quantity: 1 }]);
    // The payment group is down and the delivery grace short: the order ends in PAYMENT_FAILED, but it got there.
    const end = await waitForStatus(t, orderId, TERMINAL, 30000);
    expect(end.status).toBe('PAYMENT_FAILED');
    const history = (await t.get(`/api/orders/${orderId}`).expect(200)).body.history.map((h: { status: string }) => h.status);
    expect(history.slice(0, 3)).toEqual(['RECEIVED', 'INVENTORY_CHECK_STARTED', 'INVENTORY_CONFIRMED']);
    const metrics = await t.get('/metrics');
    expect(metrics.text).toMatch(/order_flow_saga_stalled_orders_total\{status="RECEIVED"\} [1-9]/);
  });

  it('a compensation that can never succeed is retried up to its cap, then set aside, listed for operators and counted', async () => {
    const a = await createProduct(t, 5);
    const orderId = await placeOrder(t, [{ productId: a, quantity: 1 }]);
    await waitForStatus(t, orderId, ['PAYMENT_FAILED'], 30000);
    const refund = await eventually(
      () => stepOf(t, orderId, 'refund'),
      (s) => s?.state === 'STUCK',
      { timeoutMs: 20000, what: 'the refund to be set aside' },
    );
    expect(refund.attempt).toBe(2);
    // The release (inventory answers) went through.
    expect(await stepOf(t, orderId, 'release')).toBeUndefined();

    const listed = await t.get('/api/admin/saga/stuck-steps').expect(200);
    expect(listed.body.items).toEqual(expect.arrayContaining([expect.objectContaining({ orderId, step: 'refund', orderStatus: 'PAYMENT_FAILED', attempts: 2 })]));
    expect((await t.get('/metrics')).text).toMatch(/order_flow_saga_compensations_stuck_total\{step="refund"\} [1-9]/);

    await t.post(`/api/admin/saga/stuck-steps/${orderId}/refund/retry`, {}).expect(202);
    expect(await stepOf(t, orderId, 'refund')).toMatchObject({ state: 'WAITING' });
    await t.post(`/api/admin/saga/stuck-steps/${orderId}/release/retry`, {}).expect(404);
    await t.post(`/api/admin/saga/stuck-steps/not-a-uuid/refund/retry`, {}).expect(400);
  });
  itLeavesTheInvariantsIntact(() => t);
});
