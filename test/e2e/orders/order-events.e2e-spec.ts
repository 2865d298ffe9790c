import { randomUUID } from 'node:crypto';
import { issueTestToken } from '../../../scripts/oidc-provider.mjs';
import { OrderChangeNotifier } from '../../../src/experience/orders/events/order-change.notifier.js';
import { OrderSagaService } from '../../../src/process/orders/order-saga.service.js';
import { eventually } from '../../support/eventually.js';
import { writeReceivedOrder } from '../../support/received-order.js';
import { createProduct, placeOrder } from '../../support/saga-fixtures.js';
import { openSse, type SseEvent, type SseStream } from '../../support/sse-client.js';
import { startTestApp, validOrderBody, type TestApp } from '../../support/test-app.js';

const FAST = {
  SAGA_SCHEDULER_INTERVAL_MS: '100',
  SHIPPING_DELIVERY_DELAY_MS: '300',
  SHIPPING_DELIVERY_INTERVAL_MS: '100',
};
const MISSING = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';

/**
 * Order `orderId`'s event log as the database holds it: its status events are its history rows with a
 * seq, its shipment events (and status events an older build wrote) are order_events rows.
 */
async function logOf(t: TestApp, orderId: string): Promise<Array<{ seq: number; kind: string; data: any }>> {
  const history = await t.dataSource.query('SELECT seq, to_status, reason, occurred_at FROM order_status_history WHERE order_id = ? AND seq IS NOT NULL', [orderId]);
  const events = await t.dataSource.query('SELECT seq, kind, data, occurred_at FROM order_events WHERE order_id = ?', [orderId]);
  const statusRows = history.map((r: { seq: number; to_status: string; reason: string | null; occurred_at: Date }) => ({
    seq: Number(r.seq),
    kind: 'status',
    data: { orderId, status: r.to_status, ...(r.reason ? { reason: r.reason } : {}), at: new Date(r.occurred_at).toISOString() },
  }));
  // A row's JSON need not repeat the order and the time: its columns hold them.
  const eventRows = events.map((r: { seq: number; kind: string; data: string; occurred_at: Date }) => ({
    seq: Number(r.seq),
    kind: r.kind,
    data: { orderId, ...JSON.parse(r.data), at: new Date(r.occurred_at).toISOString() },
  }));
  return [...statusRows, ...eventRows].sort((a, b) => a.seq - b.seq);
}

const ended = (s: SseStream) => eventually(() => s.ended, Boolean, { what: 'the stream to end', timeoutMs: 30000 });
const statuses = (events: SseEvent[]) => events.filter((e) => e.event === 'status').map((e) => e.data.status);
const shipment = (events: SseEvent[]) => events.filter((e) => e.event === 'fulfillment').map((e) => e.data.shipmentStatus);

/**
 * GET /api/orders/{id}/events: the order's live status stream, with the real saga, system modules,
 * broker and database (docs/order-events.md).
 */
describe('order event stream (server-sent events)', () => {
  let t: TestApp;
  /**
   * A second replica: the API only (no saga), no safety poll within a test, a fast heartbeat, one stream
   * at most, its change notifier stopped half a second after its last stream closed.
   */
  let replica: TestApp;
  let replicaClosed = false;
  const streams: SseStream[] = [];
  const open = async (app: TestApp, orderId: string, headers: Record<string, string> = {}, token = app.token) => {
    const stream = await openSse(`${app.url}/api/orders/${orderId}/events`, { Authorization: `Bearer ${token}`, ...headers });
    streams.push(stream);
    return stream;
  };

  /** An order nobody drives on (written without its OrderCreated): it stays RECEIVED. */
  const waitingOrder = async () => {
    const orderId = randomUUID();
    const product = await createProduct(t, 5);
    await writeReceivedOrder(t.app, (batch) => t.dataSource.transaction((tx) => batch.run(tx)), {
      id: orderId,
      customer: { name: 'Ada', email: 'ada@example.com' },
      shippingAddress: { line1: '1 Way', city: 'Paris', postalCode: '75001', country: 'FR' },
      items: [{ productId: product, quantity: 1 }],
      currency: 'EUR',
      correlationId: orderId,
      at: new Date(),
    });
    return orderId;
  };

  beforeAll(async () => {
    t = await startTestApp({ env: { ...FAST, SSE_POLL_MS: '1000', SSE_HEARTBEAT_MS: '15000' } });
    replica = await startTestApp({
      layers: ['experience'],
      groups: [],
      env: { ...FAST, SSE_POLL_MS: '600000', SSE_HEARTBEAT_MS: '100', SSE_MAX_STREAMS: '1', SSE_NOTIFIER_IDLE_MS: '500' },
    });
  });
  afterEach(() => {
    for (const stream of streams.splice(0)) stream.close();
  });
  afterAll(async () => {
    if (!replicaClosed) await replica?.close();
    await t?.close();
  });

  it('follows an order from its current status through SHIPPED and its shipment to DELIVERED, then closes', async () => {
    const product = await createProduct(t, 5);
    const orderId = await placeOrder(t, [{ productId: product, quantity: 1 }]);
    const stream = await open(t, orderId);
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(stream.headers['cache-control']).toMatch(/no-cache/);
    expect(stream.headers['x-accel-buffering']).toBe('no');
    await ended(stream);
    expect(stream.retry).toBeGreaterThan(0);
    const { events } = stream;
    // The first event is the status the order had when the stream opened; then every change after it.
    expect(events[0]).toMatchObject({ event: 'status', data: { orderId } });
    const ids = events.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    const log = await logOf(t, orderId);
    expect(events.slice(1).map((e) => [Number(e.id), e.event, e.data])).toEqual(log.filter((e) => e.seq > ids[0]).map((e) => [e.seq, e.kind, e.data]));
    expect(statuses(events).at(-1)).toBe('SHIPPED');
    // The shipment's statuses in their order (its creation may repeat the status it brought, with the carrier's details).
    const shipped = shipment(events).filter((s, i, all) => s !== all[i - 1]);
    expect(shipped).toEqual(['PENDING', 'IN_TRANSIT', 'DELIVERED'].filter((s) => shipped.includes(s)));
    expect(events.at(-1)).toMatchObject({ event: 'fulfillment', data: { orderId, shipmentStatus: 'DELIVERED' } });
    const created = events.find((e) => e.event === 'fulfillment' && e.data.shipmentId);
    expect(created?.data).toMatchObject({ carrier: expect.any(String), trackingNumber: expect.any(String), estimatedDelivery: expect.any(String) });
    // Stored, a shipment event is the change alone: no order id and no time in its JSON.
    const stored: Array<{ data: string }> = await t.dataSource.query('SELECT data FROM order_events WHERE order_id = ?', [orderId]);
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.flatMap((r) => Object.keys(JSON.parse(r.data)).filter((key) => key === 'orderId' || key === 'at'))).toEqual([]);
  });

  it('resumes after Last-Event-ID with exactly the events after it (0: all of them, numbered 1, 2, 3…), then closes on a final order', async () => {
    const product = await createProduct(t, 5);
    const orderId = await placeOrder(t, [{ productId: product, quantity: 1 }]);
    const all = await open(t, orderId, { 'Last-Event-ID': '0' });
    await ended(all);
    const log = await logOf(t, orderId);
    expect(all.events.map((e) => Number(e.id))).toEqual(log.map((_, i) => i + 1));
    expect(statuses(all.events)).toEqual(['RECEIVED', 'INVENTORY_CHECK_STARTED', 'INVENTORY_CONFIRMED', 'PAYMENT_COMPLETED', 'SHIPPING_REQUESTED', 'SHIPPED']);

    const resumed = await open(t, orderId, { 'Last-Event-ID': '3' });
    await ended(resumed);
    expect(resumed.events).toEqual(all.events.slice(3));
    // Resumed after its last event: nothing more will come, so it ends at once.
    const done = await open(t, orderId, { 'Last-Event-ID': String(log.length) });
    await ended(done);
    expect([done.status, done.events]).toEqual([200, []]);

    // No Last-Event-ID on a final order: its status and its shipment, then the end.
    const late = await open(t, orderId);
    await ended(late);
    expect(late.events.map((e) => [e.event, e.data.status ?? e.data.shipmentStatus])).toEqual([
      ['status', 'SHIPPED'],
      ['fulfillment', 'DELIVERED'],
    ]);
  });

  it('closes at a failure: INVENTORY_FAILED with its reason', async () => {
    const orderId = await placeOrder(t, [{ productId: `NOPE-${randomUUID().slice(0, 8)}`, quantity: 1 }]);
    const stream = await open(t, orderId);
    await ended(stream);
    expect(stream.events.at(-1)).toMatchObject({ event: 'status', data: { orderId, status: 'INVENTORY_FAILED', reason: 'UNKNOWN_PRODUCT' } });
  });

  it('closes at CANCELLED once the client cancels the order', async () => {
    const orderId = await waitingOrder();
    const stream = await open(t, orderId);
    await t.post(`/api/orders/${orderId}/cancel`, {}).expect(202);
    await ended(stream);
    expect(stream.events.at(-1)).toMatchObject({ event: 'status', data: { orderId, status: 'CANCELLED', reason: 'CANCELLED_BY_CLIENT' } });
  });

  it('delivers a change another replica makes (Kafka notification, no poll), and sends heartbeats meanwhile', async () => {
    const orderId = await waitingOrder();
    const stream = await open(replica, orderId);
    // The replica's notifier starts with its first stream; once it has joined, changes are announced.
    await replica.app.get(OrderChangeNotifier).whenAnnouncing();
    await eventually(
      () => stream.comments.filter((c) => c === 'keep-alive').length,
      (n) => n >= 2,
      { what: 'two heartbeats' },
    );
    expect(statuses(stream.events)).toEqual(['RECEIVED']);
    // The other instance's saga moves it on, as if its OrderCreated had come.
    expect(await t.dataSource.transaction((tx) => t.app.get(OrderSagaService).redrive(tx, orderId, 0))).toBe(true);
    await ended(stream).catch(async (err) => {
      throw new Error(`${err.message}; events ${JSON.stringify(stream.events)}; log ${JSON.stringify(await logOf(t, orderId))}`);
    });
    expect(statuses(stream.events)).toEqual(['RECEIVED', 'INVENTORY_CHECK_STARTED', 'INVENTORY_CONFIRMED', 'PAYMENT_COMPLETED', 'SHIPPING_REQUESTED', 'SHIPPED']);
    expect(stream.events.map((e) => Number(e.id))).toEqual((await logOf(t, orderId)).map((e) => e.seq));
  });

  it('runs the change notifier only while streams are open; a change made as it starts still reaches the stream', async () => {
    const notifier = replica.app.get(OrderChangeNotifier);
    await eventually(
      () => notifier.consuming,
      (running) => !running,
      { what: 'the notifier stopped after earlier streams' },
    );
    const orderId = await waitingOrder();
    const stream = await open(replica, orderId);
    expect(notifier.consuming).toBe(true);
    // A change its new consumer will never see a message of (written here, with none): as one made before
    // it has joined. The replica's safety poll is off; the polls while it starts must find it.
    const [{ occurred_at: at }] = await t.dataSource.query('SELECT occurred_at FROM order_status_history WHERE order_id = ?', [orderId]);
    await t.dataSource.query('UPDATE orders SET version = 2 WHERE id = ?', [orderId]);
    await t.dataSource.query(`INSERT INTO order_status_history (order_id, seq, from_status, to_status, occurred_at) VALUES (?, 2, 'RECEIVED', 'INVENTORY_CHECK_STARTED', ?)`, [
      orderId,
      at,
    ]);
    await eventually(
      () => statuses(stream.events),
      (seen) => seen.length === 2,
      { what: 'the change made as the notifier started' },
    );
    expect(stream.events.map((e) => [e.id, e.data.status])).toEqual([
      ['1', 'RECEIVED'],
      ['2', 'INVENTORY_CHECK_STARTED'],
    ]);
    await notifier.whenAnnouncing();
    stream.close();
    // Its last stream closed: it stops after SSE_NOTIFIER_IDLE_MS.
    await eventually(
      () => notifier.consuming,
      (running) => !running,
      { what: 'the notifier to stop once no stream is open' },
    );
  });

  it('streams an order whose first status events an older build wrote to order_events, then the later ones from its history, as one dense log', async () => {
    const orderId = await waitingOrder();
    // As written before migration 1765400000000: RECEIVED in order_events, its history row without a seq.
    const [{ occurred_at: at }] = await t.dataSource.query('SELECT occurred_at FROM order_status_history WHERE order_id = ?', [orderId]);
    await t.dataSource.query('UPDATE order_status_history SET seq = NULL WHERE order_id = ?', [orderId]);
    const received = { orderId, status: 'RECEIVED', at: new Date(at).toISOString() };
    await t.dataSource.query(`INSERT INTO order_events (order_id, seq, kind, data, occurred_at) VALUES (?, 1, 'status', ?, ?)`, [orderId, JSON.stringify(received), at]);

    const stream = await open(t, orderId, { 'Last-Event-ID': '0' });
    await eventually(
      () => stream.events.length,
      (n) => n >= 1,
      { what: 'the first event' },
    );
    expect(await t.dataSource.transaction((tx) => t.app.get(OrderSagaService).redrive(tx, orderId, 0))).toBe(true);
    await ended(stream);
    expect(stream.events[0]).toEqual({ id: '1', event: 'status', data: received });
    expect(statuses(stream.events)).toEqual(['RECEIVED', 'INVENTORY_CHECK_STARTED', 'INVENTORY_CONFIRMED', 'PAYMENT_COMPLETED', 'SHIPPING_REQUESTED', 'SHIPPED']);
    expect(stream.events.map((e) => Number(e.id))).toEqual(stream.events.map((_, i) => i + 1));
  });

  it('404 for an unknown order and for another client’s order, 400 for a bad id or Last-Event-ID, all before any stream', async () => {
    const partner = await issueTestToken({ issuer: t.op.issuer, clientId: 'order-flow-partner', clientSecret: 'partner-secret', scope: 'orders.read orders.write' });
    const reader = await issueTestToken({ issuer: t.op.issuer, clientId: 'order-flow-reader', clientSecret: 'reader-secret', scope: 'orders.read' });
    const res = await t.post('/api/orders', validOrderBody()).set('Authorization', `Bearer ${partner}`).expect(202);
    const orderId = res.body.orderId as string;
    const cases: Array<[string, Record<string, string>, string, number, string]> = [
      [MISSING, {}, reader, 404, 'ORDER_NOT_FOUND'],
      [orderId, {}, reader, 404, 'ORDER_NOT_FOUND'],
      ['not-a-uuid', {}, reader, 400, 'VALIDATION_FAILED'],
      [orderId, { 'Last-Event-ID': 'abc' }, partner, 400, 'VALIDATION_FAILED'],
    ];
    for (const [id, headers, token, status, code] of cases) {
      const stream = await open(t, id, headers, token);
      await ended(stream);
      expect([stream.status, stream.headers['content-type'], JSON.parse(stream.body).code]).toEqual([status, expect.stringMatching(/^application\/problem\+json/), code]);
    }
    const own = await open(t, orderId, {}, partner);
    expect(own.status).toBe(200);
  });

  it('503 with Retry-After beyond SSE_MAX_STREAMS; a closed stream frees its place', async () => {
    const orderId = await waitingOrder();
    const first = await open(replica, orderId);
    expect(first.status).toBe(200);
    const refused = await open(replica, orderId);
    await ended(refused);
    expect([refused.status, refused.headers['retry-after'], JSON.parse(refused.body).code]).toEqual([503, expect.stringMatching(/^\d+$/), 'SERVICE_UNAVAILABLE']);
    first.close();
    await eventually(
      async () => (await open(replica, orderId)).status,
      (status) => status === 200,
      { what: 'a stream once the first closed' },
    );
  });

  it('shutdown ends every open stream, so the server can close', async () => {
    const stream = await open(replica, await waitingOrder());
    expect(stream.status).toBe(200);
    replicaClosed = true;
    await replica.close();
    await ended(stream);
    expect(statuses(stream.events)).toEqual(['RECEIVED']);
  });
});
