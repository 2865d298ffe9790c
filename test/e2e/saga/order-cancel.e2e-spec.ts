import { jest } from '@jest/globals';
import request from 'supertest';
import { issueTestToken } from '../../../scripts/oidc-provider.mjs';
import { OrderSagaService, type SagaMessage } from '../../../src/process/orders/order-saga.service.js';
import { InventorySimulator } from '../../../src/system/inventory/inventory.simulator.js';
import { PaymentSimulator } from '../../../src/system/payment/payment.simulator.js';
import { eventually } from '../../support/eventually.js';
import { checkSuiteInvariants } from '../../support/invariants.js';
import { createProduct, placeOrder as placeOrderVia, stockOf, TERMINAL, waitForStatus } from '../../support/saga-fixtures.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';
import { TopicReader } from '../../support/topic-reader.js';
import { OUTBOX_TOPICS } from '../../support/topics.js';

/**
 * POST /api/orders/{orderId}/cancel with the real saga and system modules: the order ends CANCELLED
 * (CANCELLED_BY_CLIENT) from every status before SHIPPING_REQUESTED, with its stock released and its
 * charge refunded, also when a reservation or a charge lands after the cancellation; never after.
 */
const ENV = {
  SAGA_INVENTORY_TIMEOUT_MS: '6000',
  SAGA_PAYMENT_TIMEOUT_MS: '6000',
  SAGA_COMPENSATION_TIMEOUT_MS: '3000',
  SAGA_SCHEDULER_INTERVAL_MS: '100',
  SAGA_STALLED_AFTER_MS: '120000',
  SHIPPING_DELIVERY_DELAY_MS: '300',
  SHIPPING_DELIVERY_INTERVAL_MS: '100',
};
/** The answer the simulators hold back while a test cancels (well under the step deadlines). */
const SLOW = { latency: { minMs: 2500, maxMs: 2500 } };

/** Every order this suite places, for the invariant check at its end. */
const placed: string[] = [];
const placeOrder: typeof placeOrderVia = async (...args) => {
  const orderId = await placeOrderVia(...args);
  placed.push(orderId);
  return orderId;
};

type Row = Record<string, unknown>;

describe('order cancellation (API, saga and system modules over the real broker and MariaDB)', () => {
  let t: TestApp;
  let reader: TopicReader;
  let inventory: InventorySimulator;
  let payment: PaymentSimulator;
  let partner: string;
  let readOnly: string;

  beforeAll(async () => {
    t = await startTestApp({ env: ENV });
    inventory = t.app.get(InventorySimulator);
    payment = t.app.get(PaymentSimulator);
    reader = await new TopicReader(OUTBOX_TOPICS).start();
    partner = await issueTestToken({ issuer: t.op.issuer, clientId: 'order-flow-partner', clientSecret: 'partner-secret', scope: 'orders.read orders.write' });
    readOnly = await issueTestToken({ issuer: t.op.issuer, clientId: 'order-flow-reader', clientSecret: 'reader-secret', scope: 'orders.read' });
  });
  afterEach(() => {
    inventory.reset();
    payment.reset();
    jest.restoreAllMocks();
  });
  afterAll(async () => {
    await reader?.stop();
    await t?.close();
  });

  const cancel = (orderId: string, token = t.token) =>
    request(t.url)
      .post(`/api/orders/${orderId}/cancel`)
      .set({ Authorization: `Bearer ${token}` });
  const rows = (sql: string, orderId: string) => t.dataSource.query(sql, [orderId]) as Promise<Row[]>;
  const history = async (orderId: string) =>
    ((await t.get(`/api/orders/${orderId}`).expect(200)).body.history as Row[]).map((h) => `${h.status}${h.reason ? `(${h.reason})` : ''}`);
  const statusesOf = (table: 'stock_reservations' | 'payments', orderId: string) =>
    rows(`SELECT status FROM ${table} WHERE order_id = ? ORDER BY status`, orderId).then((r) => r.map((x) => x.status));
  const cancelRequested = async (orderId: string) => (await rows('SELECT cancel_requested_at FROM orders WHERE id = ?', orderId))[0]?.cancel_requested_at != null;
  const statusIs = (status: string) => async (orderId: string) => (await rows('SELECT status FROM orders WHERE id = ?', orderId))[0]?.status === status;

  /** A hold on the saga: batches with a message `holds` picks wait until `until(its orderId)`, so its order waits in its status. */
  interface Hold {
    holds: (m: SagaMessage) => boolean;
    until: (orderId: string) => Promise<boolean>;
  }
  function holdSaga(...holds: Hold[]): void {
    const saga = t.app.get(OrderSagaService);
    const handleMany = saga.handleMany.bind(saga);
    jest.spyOn(saga, 'handleMany').mockImplementation(async (messages, tx) => {
      for (const { holds: picks, until } of holds) {
        const held = messages.find(picks);
        if (held) await eventually(() => until(held.orderId), Boolean, { what: `the hold on ${held.eventType} of ${held.orderId} to end` });
      }
      return handleMany(messages, tx);
    });
  }
  /** `eventType` of an order of `productId` (the test's own product: the order id is not known yet when it is sent). */
  const ofProduct = (eventType: 'OrderCreated' | 'OrderValidated', productId: string) => (m: SagaMessage) =>
    m.eventType === eventType && (m.payload as { items: Array<{ productId: string }> }).items.some((i) => i.productId === productId);

  /** The order ends CANCELLED (CANCELLED_BY_CLIENT), with nothing left reserved or charged, no saga step open and nothing shipped. */
  async function expectCancelledAndUndone(orderId: string, productId: string, stock: number): Promise<void> {
    expect(await waitForStatus(t, orderId, TERMINAL)).toMatchObject({ status: 'CANCELLED', reason: 'CANCELLED_BY_CLIENT' });
    await eventually(
      async () => ({ stock: await stockOf(t, productId), steps: await rows('SELECT step FROM saga_steps WHERE order_id = ?', orderId) }),
      (r) => r.stock.onHand === stock && r.stock.reserved === 0 && r.steps.length === 0,
      { what: `the stock of ${productId} back on hand and the compensations done` },
    );
    expect((await statusesOf('stock_reservations', orderId)).filter((s) => s !== 'RELEASED')).toEqual([]);
    expect((await statusesOf('payments', orderId)).filter((s) => s !== 'REFUNDED')).toEqual([]);
    expect(reader.forOrder(orderId).filter((m) => m.value.eventType === 'ShipmentRequested')).toEqual([]);
  }

  const requestsOf = (orderId: string) => reader.forOrder(orderId).filter((m) => m.value.eventType === 'OrderCancellationRequested');

  it('at RECEIVED: 202, the request goes through the outbox onto orders-in, and the saga cancels the order instead of starting it', async () => {
    const a = await createProduct(t, 5);
    holdSaga({ holds: ofProduct('OrderCreated', a), until: cancelRequested });
    const orderId = await placeOrder(t, [{ productId: a, quantity: 2 }]);
    const res = await cancel(orderId).expect(202);
    expect(res.body).toEqual({ orderId, cancelRequestedAt: expect.any(String), statusUrl: `/api/orders/${orderId}/status` });

    const [requested] = await eventually(
      () => requestsOf(orderId),
      (m) => m.length > 0,
      { what: 'OrderCancellationRequested on orders-in' },
    );
    expect(requested).toMatchObject({ topic: 'orders-in', key: orderId, headers: expect.objectContaining({ 'x-event-type': 'OrderCancellationRequested' }) });
    expect(requested.value.payload).toEqual({ requestedBy: 'order-flow-dev', at: res.body.cancelRequestedAt });
    await expectCancelledAndUndone(orderId, a, 5);
    expect(await history(orderId)).toEqual(['RECEIVED', 'CANCELLED(CANCELLED_BY_CLIENT)']);
    expect(reader.forOrder(orderId).filter((m) => m.value.eventType === 'ReserveStock')).toEqual([]);
  });

  it('while inventory is in flight: the reservation that lands after the cancellation is released; concurrent and later repeats answer the same 202 and send nothing', async () => {
    inventory.configure(SLOW);
    const a = await createProduct(t, 5);
    const orderId = await placeOrder(t, [{ productId: a, quantity: 2 }]);
    await waitForStatus(t, orderId, ['INVENTORY_CHECK_STARTED']);
    // Two at once: the row lock lets one mark the order; the other finds it marked.
    const [first, second] = await Promise.all([cancel(orderId).expect(202), cancel(orderId).expect(202)]);
    expect(second.body).toEqual(first.body);

    await reader.waitFor((m) => m.key === orderId && m.value.eventType === 'StockReservationConfirmed', 'the late StockReservationConfirmed');
    await expectCancelledAndUndone(orderId, a, 5);
    expect(await statusesOf('stock_reservations', orderId)).toEqual(['RELEASED']);
    expect(await history(orderId)).toEqual(['RECEIVED', 'INVENTORY_CHECK_STARTED', 'CANCELLED(CANCELLED_BY_CLIENT)']);
    expect((await cancel(orderId).expect(202)).body).toEqual(first.body);
    expect(requestsOf(orderId)).toHaveLength(1);
  });

  it('at INVENTORY_CONFIRMED with a slow payment: the charge that lands after the cancellation is refunded, the stock released', async () => {
    payment.configure(SLOW);
    const a = await createProduct(t, 5);
    const orderId = await placeOrder(t, [{ productId: a, quantity: 2 }]);
    await waitForStatus(t, orderId, ['INVENTORY_CONFIRMED']);
    await cancel(orderId).expect(202);

    await reader.waitFor((m) => m.key === orderId && m.value.eventType === 'PaymentCharged', 'the late PaymentCharged');
    await expectCancelledAndUndone(orderId, a, 5);
    expect(await statusesOf('payments', orderId)).toEqual(['REFUNDED']);
    expect(await history(orderId)).toEqual(['RECEIVED', 'INVENTORY_CHECK_STARTED', 'INVENTORY_CONFIRMED', 'CANCELLED(CANCELLED_BY_CLIENT)']);
  });

  it('at PAYMENT_COMPLETED: refunded and released; the OrderValidated that comes after changes nothing', async () => {
    const a = await createProduct(t, 5);
    holdSaga({ holds: ofProduct('OrderValidated', a), until: statusIs('CANCELLED') });
    const orderId = await placeOrder(t, [{ productId: a, quantity: 2 }]);
    await waitForStatus(t, orderId, ['PAYMENT_COMPLETED']);
    await cancel(orderId).expect(202);

    await expectCancelledAndUndone(orderId, a, 5);
    expect(await statusesOf('payments', orderId)).toEqual(['REFUNDED']);
    expect(await history(orderId)).toEqual(['RECEIVED', 'INVENTORY_CHECK_STARTED', 'INVENTORY_CONFIRMED', 'PAYMENT_COMPLETED', 'CANCELLED(CANCELLED_BY_CLIENT)']);
  });

  it('when the saga would ship a cancel-requested order before its request arrives, it cancels it instead (never SHIPPING_REQUESTED)', async () => {
    const a = await createProduct(t, 5);
    let orderId = '';
    holdSaga(
      { holds: ofProduct('OrderValidated', a), until: cancelRequested },
      { holds: (m) => m.eventType === 'OrderCancellationRequested' && m.orderId === orderId, until: statusIs('CANCELLED') },
    );
    orderId = await placeOrder(t, [{ productId: a, quantity: 2 }]);
    await waitForStatus(t, orderId, ['PAYMENT_COMPLETED']);
    await cancel(orderId).expect(202);

    await expectCancelledAndUndone(orderId, a, 5);
    expect(await history(orderId)).toEqual(['RECEIVED', 'INVENTORY_CHECK_STARTED', 'INVENTORY_CONFIRMED', 'PAYMENT_COMPLETED', 'CANCELLED(CANCELLED_BY_CLIENT)']);
    expect(requestsOf(orderId)).toHaveLength(1);
  });

  it('once SHIPPED, or ended otherwise: 409 ORDER_NOT_CANCELLABLE, and the order is left as it is', async () => {
    const a = await createProduct(t, 5);
    const shipped = await placeOrder(t, [{ productId: a, quantity: 1 }]);
    const failed = await placeOrder(t, [{ productId: a, quantity: 50 }]);
    expect(await waitForStatus(t, shipped)).toMatchObject({ status: 'SHIPPED' });
    expect(await waitForStatus(t, failed)).toMatchObject({ status: 'INVENTORY_FAILED' });
    for (const orderId of [shipped, failed]) {
      const res = await cancel(orderId).expect(409);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 409, code: 'ORDER_NOT_CANCELLABLE' });
      expect(await cancelRequested(orderId)).toBe(false);
      expect(requestsOf(orderId)).toEqual([]);
    }
    expect((await t.get(`/api/orders/${shipped}/status`).expect(200)).body.status).toBe('SHIPPED');
  });

  it("unknown order or another client's: the same 404; a client cancels its own; no orders.write: 403; a bad id: 400", async () => {
    const a = await createProduct(t, 5);
    holdSaga({ holds: ofProduct('OrderCreated', a), until: cancelRequested });
    const orderId = (
      await request(t.url)
        .post('/api/orders')
        .set({ Authorization: `Bearer ${partner}` })
        .send(orderBody(a))
        .expect(202)
    ).body.orderId as string;
    placed.push(orderId);

    const missing = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
    const unknown = await cancel(missing).expect(404);
    expect(unknown.body.code).toBe('ORDER_NOT_FOUND');
    expect((await cancel(orderId, readOnly).expect(403)).body.code).toBe('FORBIDDEN');
    const devOrder = await placeOrder(t, [{ productId: await createProduct(t, 5), quantity: 1 }]);
    expect((await cancel(devOrder, partner).expect(404)).body.code).toBe('ORDER_NOT_FOUND');
    expect(await cancelRequested(devOrder)).toBe(false);
    expect((await cancel('not-a-uuid').expect(400)).body.code).toBe('VALIDATION_FAILED');

    await cancel(orderId, partner).expect(202);
    expect(await waitForStatus(t, orderId)).toMatchObject({ status: 'CANCELLED', reason: 'CANCELLED_BY_CLIENT' });
    const [requested] = await eventually(
      () => requestsOf(orderId),
      (m) => m.length > 0,
      { what: "the partner's OrderCancellationRequested" },
    );
    expect(requested.value.payload.requestedBy).toBe('order-flow-partner');
    await waitForStatus(t, devOrder);
  });

  it('leaves every invariant intact for the orders it placed', async () => {
    const report = await checkSuiteInvariants(t.dataSource, placed);
    expect(report.violations).toEqual([]);
  });
});

function orderBody(productId: string): Record<string, unknown> {
  return {
    customer: { name: 'Ada Lovelace', email: 'ada@example.com' },
    shippingAddress: { line1: '12 St James Square', city: 'London', postalCode: 'SW1Y 4JH', country: 'GB' },
    items: [{ productId, quantity: 1 }],
  };
}
