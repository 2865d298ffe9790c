import { jest } from '@jest/globals';
import type { Consumer, KafkaMessage } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { newEnvelope, type Envelope } from '../../../src/contracts/envelope.js';
import { MessageHandlerRegistry } from '../../../src/platform/messaging/message-handlers.js';
import { MessageProcessorService } from '../../../src/platform/messaging/message-processor.service.js';
import { DeliveryScheduler } from '../../../src/system/shipping/delivery.scheduler.js';
import { ShippingModule } from '../../../src/system/shipping/shipping.module.js';
import { ShippingService, type ShippingMessage } from '../../../src/system/shipping/shipping.service.js';
import { CARRIERS, ShippingSimulator, TRACKING_NUMBER_PATTERN } from '../../../src/system/shipping/shipping.simulator.js';
import { eventually } from '../../support/eventually.js';
import { expectDelay, startSystemHarness, type SystemHarness } from './system-harness.js';

const DAY = 24 * 60 * 60 * 1000;
const address = { line1: '12 St James Square', city: 'London', postalCode: 'SW1Y 4JH', country: 'GB' };

describe('shipping system (real MariaDB)', () => {
  let h: SystemHarness;
  let shipping: ShippingService;
  let simulator: ShippingSimulator;
  let scheduler: DeliveryScheduler;
  let handlers: MessageHandlerRegistry;
  let processor: MessageProcessorService;

  beforeAll(async () => {
    h = await startSystemHarness(ShippingModule);
    shipping = h.moduleRef.get(ShippingService);
    simulator = h.moduleRef.get(ShippingSimulator);
    scheduler = h.moduleRef.get(DeliveryScheduler);
    handlers = h.moduleRef.get(MessageHandlerRegistry);
    processor = h.moduleRef.get(MessageProcessorService);
  });
  afterAll(() => h?.close());
  afterEach(() => simulator.reset());

  const request = (orderId: string, attempt = 1) => {
    const m = newEnvelope(
      'ShipmentRequested',
      orderId,
      { shippingAddress: address, items: [{ productId: 'SKU-1001', quantity: 1 }], attempt },
      { correlationId: `corr-${orderId}` },
    );
    return h.inTx((tx) => shipping.handleMany([m], tx)).then(() => m);
  };
  /** Feeds `m` to the shipping group's handler as its consumer would; returns the offsets it then commits. */
  const consume = async (m: Envelope, offset: string) => {
    const commits: unknown[] = [];
    const consumer = { commitOffsets: (offsets: unknown[]) => Promise.resolve(void commits.push(...offsets)) } as unknown as Consumer;
    const message = { key: Buffer.from(m.orderId), value: Buffer.from(JSON.stringify(m)), offset, timestamp: String(Date.now()), attributes: 0, headers: {} } as KafkaMessage;
    const [{ topic, handler }] = handlers.forGroup('shipping');
    await processor.processBatch({ consumer, topic, partition: 0, messages: [message], handler, resolveOffset: () => undefined });
    await processor.flushOffsets();
    return commits;
  };
  const inboxed = async (eventId: string) =>
    ((await h.dataSource.query('SELECT event_id FROM processed_messages WHERE consumer_group = ? AND event_id = ?', [processor.groupId('shipping'), eventId])) as unknown[])
      .length > 0;
  const rows = (orderId: string) =>
    h.dataSource.query('SELECT id, carrier, tracking_number, status, estimated_delivery, deliver_after, correlation_id FROM shipments WHERE order_id = ?', [orderId]) as Promise<
      Array<{ id: string; carrier: string; tracking_number: string; status: string; estimated_delivery: Date; deliver_after: Date; correlation_id: string }>
    >;

  it('creates one shipment with carrier, SHIP- tracking number and estimate, replies and announces IN_TRANSIT', async () => {
    const orderId = randomUUID();
    const started = Date.now();
    const m = await request(orderId);
    const [row, ...more] = await rows(orderId);
    expect(more).toEqual([]);
    expect(row.status).toBe('IN_TRANSIT');
    expect(row.tracking_number).toMatch(TRACKING_NUMBER_PATTERN);
    expect(CARRIERS).toContain(row.carrier);
    expect(row.correlation_id).toBe(m.correlationId);
    const eta = new Date(row.estimated_delivery).getTime();
    expect(eta).toBeGreaterThanOrEqual(started + 2 * DAY - 1);
    expect(eta).toBeLessThanOrEqual(Date.now() + 5 * DAY + 1);
    // Test profile: delivered 1000 ms after creation.
    expect(new Date(row.deliver_after).getTime()).toBeGreaterThanOrEqual(started + 1000 - 1);

    const staged = await h.staged(orderId);
    expect(staged.map((s) => [s.topic, s.eventType])).toEqual([
      ['shipping-replies', 'ShipmentCreated'],
      ['shipping-updates', 'ShipmentStatusChanged'],
    ]);
    const view = {
      shipmentId: row.id,
      carrier: row.carrier,
      trackingNumber: row.tracking_number,
      estimatedDelivery: new Date(row.estimated_delivery).toISOString(),
      status: 'IN_TRANSIT',
    };
    expect(staged[0].envelope).toMatchObject({ correlationId: m.correlationId, causationId: m.eventId, payload: view });
    expect(staged[1].envelope.payload).toEqual(view);
  });

  it('ships once per order: a retried request answers with the same shipment', async () => {
    const orderId = randomUUID();
    await request(orderId);
    simulator.configure({ failureRate: 1 });
    await request(orderId, 2);
    const all = await rows(orderId);
    expect(all).toHaveLength(1);
    const replies = (await h.staged(orderId)).filter((s) => s.topic === 'shipping-replies');
    expect(replies.map((r) => r.eventType)).toEqual(['ShipmentCreated', 'ShipmentCreated']);
    expect(replies[1].envelope.payload).toEqual(replies[0].envelope.payload);
    expect(replies[1].envelope.payload.trackingNumber).toBe(all[0].tracking_number);
  });

  it('answers a carrier rejection for good and creates nothing', async () => {
    const orderId = randomUUID();
    simulator.configure({ failureRate: 1 });
    await request(orderId);
    expect(await rows(orderId)).toEqual([]);
    const staged = await h.staged(orderId);
    expect(staged.map((s) => [s.topic, s.eventType])).toEqual([['shipping-replies', 'ShipmentRejected']]);
    expect(staged[0].envelope.payload).toMatchObject({ reason: 'CARRIER_REJECTED', transient: false });
  });

  it('answers a retried request with the first shipment, and a rejected one with its rejection', async () => {
    const orderId = randomUUID();
    const m = () => newEnvelope('ShipmentRequested', orderId, { shippingAddress: address, items: [{ productId: 'SKU-1001', quantity: 1 }], attempt: 1 }, { correlationId: 'c' });
    await h.inTx((tx) => shipping.handleMany([m()], tx));
    await h.inTx((tx) => shipping.handleMany([m()], tx)); // a retry, answered the same
    simulator.configure({ failureRate: 1 });
    const rejected = randomUUID();
    await h.inTx((tx) => shipping.handleMany([{ ...m(), orderId: rejected }], tx));
    expect((await h.staged(orderId)).map((s) => s.eventType)).toEqual(['ShipmentCreated', 'ShipmentStatusChanged', 'ShipmentCreated']);
    expect(await rows(orderId)).toHaveLength(1);
    expect((await h.staged(rejected)).map((s) => s.eventType)).toEqual(['ShipmentRejected']);
  });

  it('delays the reply and the status event by the simulated latency', async () => {
    const orderId = randomUUID();
    simulator.configure({ latency: { minMs: 1200, maxMs: 1200 } });
    const started = Date.now();
    await request(orderId);
    const finished = Date.now();
    const staged = await h.staged(orderId);
    expect(staged).toHaveLength(2);
    for (const s of staged) expectDelay(s, started, finished, 1200);
  });

  it('ignores its own ShipmentStatusChanged events read back from the shared topic: no transaction, no inbox row, offset committed', async () => {
    const orderId = randomUUID();
    const m = newEnvelope(
      'ShipmentStatusChanged',
      orderId,
      { shipmentId: randomUUID(), status: 'IN_TRANSIT' as const, carrier: 'DHL', trackingNumber: 'SHIP-ABCDEFGHIJ', estimatedDelivery: new Date().toISOString() },
      { correlationId: 'c' },
    );
    const commits = await consume(m, '41');
    expect(commits).toEqual([{ topic: 'shipping-updates', partition: 0, offset: '42' }]);
    expect(await rows(orderId)).toEqual([]);
    expect(await h.staged(orderId)).toEqual([]);
    expect(await inboxed(m.eventId)).toBe(false);
  });

  it('handles a ShipmentRequested arriving through the consumer in one inbox transaction', async () => {
    const orderId = randomUUID();
    const m = newEnvelope(
      'ShipmentRequested',
      orderId,
      { shippingAddress: address, items: [{ productId: 'SKU-1001', quantity: 1 }], attempt: 1 },
      { correlationId: `corr-${orderId}` },
    );
    const commits = await consume(m, '7');
    expect(commits).toEqual([{ topic: 'shipping-updates', partition: 0, offset: '8' }]);
    expect(await rows(orderId)).toHaveLength(1);
    expect((await h.staged(orderId)).map((s) => s.eventType)).toEqual(['ShipmentCreated', 'ShipmentStatusChanged']);
    expect(await inboxed(m.eventId)).toBe(true);
  });

  it('the running scheduler marks a due shipment DELIVERED once and stages the status event', async () => {
    const orderId = randomUUID();
    const m = await request(orderId);
    expect((await rows(orderId))[0].status).toBe('IN_TRANSIT');
    await eventually(
      () => rows(orderId),
      ([r]) => r.status === 'DELIVERED',
      { timeoutMs: 10000, what: 'shipment delivered' },
    );
    expect(await scheduler.deliverDue(new Date(Date.now() + DAY))).toBeGreaterThanOrEqual(0);
    const delivered = (await h.staged(orderId)).filter((s) => s.eventType === 'ShipmentStatusChanged' && s.envelope.payload.status === 'DELIVERED');
    expect(delivered).toHaveLength(1);
    expect(delivered[0].topic).toBe('shipping-updates');
    const [row] = await rows(orderId);
    expect(delivered[0].envelope).toMatchObject({ correlationId: m.correlationId, payload: { shipmentId: row.id, trackingNumber: row.tracking_number, status: 'DELIVERED' } });
  });

  it('does not deliver before deliver_after, and skips a shipment another replica holds (SKIP LOCKED)', async () => {
    const orderId = randomUUID();
    simulator.configure({ deliveryDelayMs: 60000 });
    await request(orderId);
    const [row] = await rows(orderId);
    await scheduler.deliverDue();
    expect((await rows(orderId))[0].status).toBe('IN_TRANSIT');

    // Another replica holds the row: a pass must neither wait for it nor deliver it.
    const other = h.dataSource.createQueryRunner();
    await other.connect();
    await other.startTransaction();
    try {
      await other.query('SELECT id FROM shipments WHERE id = ? FOR UPDATE', [row.id]);
      await scheduler.deliverDue(new Date(Date.now() + 120000));
      expect((await rows(orderId))[0].status).toBe('IN_TRANSIT');
    } finally {
      await other.rollbackTransaction();
      await other.release();
    }
    expect(await scheduler.deliverDue(new Date(Date.now() + 120000))).toBeGreaterThanOrEqual(1);
    expect((await rows(orderId))[0].status).toBe('DELIVERED');
  });
  it('a delivery pass neither waits for a shipment being created nor delivers it; it delivers the rest', async () => {
    simulator.configure({ deliveryDelayMs: 60000 });
    const due = [randomUUID(), randomUUID(), randomUUID()];
    for (const orderId of due) await request(orderId);
    // The shipping module creating another shipment, its transaction still open.
    const creating = randomUUID();
    await h.elsewhere(async (tx) => {
      const m = newEnvelope(
        'ShipmentRequested',
        creating,
        { shippingAddress: address, items: [{ productId: 'SKU-1001', quantity: 1 }], attempt: 1 },
        { correlationId: `corr-${creating}` },
      );
      await shipping.handleMany([m], tx);
      // A lock wait would take the server's 50 s: give the pass 5.
      const pass = scheduler.deliverDue(new Date(Date.now() + 120000));
      const outcome = await Promise.race([pass, new Promise<'waited'>((resolve) => setTimeout(() => resolve('waited'), 5000).unref())]);
      expect(outcome).not.toBe('waited');
      await pass;
      for (const orderId of due) expect((await rows(orderId))[0].status).toBe('DELIVERED');
    });
    expect((await rows(creating))[0].status).toBe('IN_TRANSIT');
    expect(await scheduler.deliverDue(new Date(Date.now() + 120000))).toBeGreaterThanOrEqual(1);
    expect((await rows(creating))[0].status).toBe('DELIVERED');
  });
  describe('a batch of requests in one transaction (handleMany)', () => {
    const shipmentRequested = (orderId: string, attempt = 1) =>
      newEnvelope('ShipmentRequested', orderId, { shippingAddress: address, items: [{ productId: 'SKU-1001', quantity: 1 }], attempt }, { correlationId: `corr-${orderId}` });
    const many = (messages: ShippingMessage[]) => h.inTx((tx) => shipping.handleMany(messages, tx));

    it('ships several orders in one batch; a retry in the same batch answers with the first shipment', async () => {
      const [o1, o2, o3] = [randomUUID(), randomUUID(), randomUUID()];
      const decide = jest
        .spyOn(simulator, 'decide')
        .mockReturnValueOnce({ outcome: 'create', carrier: 'DHL', deliveryDays: 2, delayMs: 700 })
        .mockReturnValueOnce({ outcome: 'reject', carrier: 'UPS', deliveryDays: 3, delayMs: 200 })
        .mockReturnValueOnce({ outcome: 'reject', carrier: 'GLS', deliveryDays: 3, delayMs: 400 })
        .mockReturnValueOnce({ outcome: 'create', carrier: 'DPD', deliveryDays: 4, delayMs: 1100 });
      try {
        const first = shipmentRequested(o1);
        const started = Date.now();
        await many([first, shipmentRequested(o2), shipmentRequested(o1, 2), shipmentRequested(o3)]);
        const finished = Date.now();
        expect(decide).toHaveBeenCalledTimes(4);

        const [r1] = await rows(o1);
        expect(r1).toMatchObject({ carrier: 'DHL', status: 'IN_TRANSIT', correlation_id: `corr-${o1}` });
        expect(await rows(o1)).toHaveLength(1);
        const s1 = await h.staged(o1);
        expect(s1.map((s) => s.eventType)).toEqual(['ShipmentCreated', 'ShipmentStatusChanged', 'ShipmentCreated']);
        expect(new Set(s1.map((s) => s.envelope.payload.trackingNumber))).toEqual(new Set([r1.tracking_number]));
        for (const s of s1.slice(0, 2)) expectDelay(s, started, finished, 700);
        expectDelay(s1[2], started, finished, 400); // the retry answers after its own draw's latency

        expect(await rows(o2)).toEqual([]);
        const s2 = await h.staged(o2);
        expect(s2.map((s) => s.envelope.payload)).toEqual([expect.objectContaining({ reason: 'CARRIER_REJECTED', transient: false })]);
        expectDelay(s2[0], started, finished, 200);

        expect((await rows(o3))[0]).toMatchObject({ carrier: 'DPD', status: 'IN_TRANSIT' });
        for (const s of await h.staged(o3)) expectDelay(s, started, finished, 1100);
      } finally {
        decide.mockRestore();
      }
    });
  });
});
