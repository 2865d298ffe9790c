import { randomUUID } from 'node:crypto';
import { newEnvelope } from '../../../src/contracts/envelope.js';
import { DeliveryScheduler } from '../../../src/system/shipping/delivery.scheduler.js';
import { InventoryModule } from '../../../src/system/inventory/inventory.module.js';
import { InventoryService } from '../../../src/system/inventory/inventory.service.js';
import { PaymentModule } from '../../../src/system/payment/payment.module.js';
import { PaymentService } from '../../../src/system/payment/payment.service.js';
import { ShippingModule } from '../../../src/system/shipping/shipping.module.js';
import { ShippingService } from '../../../src/system/shipping/shipping.service.js';
import { ShippingSimulator } from '../../../src/system/shipping/shipping.simulator.js';
import { startSystemHarness, type SystemHarness } from './system-harness.js';

/**
 * A system module refuses a forward command for an order it has already compensated, whatever brought
 * the command (redelivery, DLQ replay, offset reset): a late effect would never be undone.
 */
const trace = (orderId: string) => ({ correlationId: `corr-${orderId}` });

describe('inventory: a reservation after the release is refused (real MariaDB)', () => {
  let h: SystemHarness;
  let inventory: InventoryService;
  beforeAll(async () => {
    h = await startSystemHarness(InventoryModule);
    inventory = h.moduleRef.get(InventoryService);
  });
  afterAll(() => h?.close());

  const reserve = (orderId: string, productId: string) =>
    h.inTx((tx) => inventory.handleMany([newEnvelope('ReserveStock', orderId, { items: [{ productId, quantity: 2 }], currency: 'EUR', attempt: 1 }, trace(orderId))], tx));
  const release = (orderId: string) => h.inTx((tx) => inventory.handleMany([newEnvelope('ReleaseStock', orderId, { reason: 'PAYMENT_FAILED' }, trace(orderId))], tx));

  it('a release that found nothing still closes the order: the reservation that comes later reserves nothing', async () => {
    const product = await h.product(10, 5);
    const orderId = randomUUID();
    await release(orderId);
    await reserve(orderId, product);

    expect(await h.stock(product)).toEqual({ onHand: 10, reserved: 0 });
    expect(await h.dataSource.query('SELECT id FROM stock_reservations WHERE order_id = ?', [orderId])).toEqual([]);
    const replies = (await h.staged(orderId)).map((s) => s.envelope);
    expect(replies.map((r) => r.eventType)).toEqual(['StockReleaseConfirmed', 'StockReservationRejected']);
    expect(replies[1].payload).toMatchObject({ reason: 'ORDER_COMPENSATED', transient: false });
  });

  it('in one batch, in offset order: release then reserve is refused, reserve then release is released', async () => {
    const product = await h.product(10, 5);
    const [a, b] = [randomUUID(), randomUUID()];
    const cmd = {
      reserve: (o: string) => newEnvelope('ReserveStock', o, { items: [{ productId: product, quantity: 3 }], currency: 'EUR', attempt: 1 }, trace(o)),
      release: (o: string) => newEnvelope('ReleaseStock', o, { reason: 'STEP_TIMED_OUT' }, trace(o)),
    };
    await h.inTx((tx) => inventory.handleMany([cmd.release(a), cmd.reserve(a), cmd.reserve(b), cmd.release(b)], tx));
    expect(await h.stock(product)).toEqual({ onHand: 10, reserved: 0 });
    expect(await h.dataSource.query('SELECT status FROM stock_reservations WHERE order_id = ?', [b])).toEqual([{ status: 'RELEASED' }]);
    expect(await h.dataSource.query('SELECT order_id FROM compensated_orders WHERE system_module = ? AND order_id IN (?, ?) ORDER BY order_id', ['inventory', a, b])).toHaveLength(
      2,
    );
  });
});

describe('payment: a charge after the refund is refused (real MariaDB)', () => {
  let h: SystemHarness;
  let payment: PaymentService;
  beforeAll(async () => {
    h = await startSystemHarness(PaymentModule);
    payment = h.moduleRef.get(PaymentService);
  });
  afterAll(() => h?.close());

  const charge = (orderId: string) =>
    h.inTx((tx) => payment.handleMany([newEnvelope('ChargePayment', orderId, { amount: 25, currency: 'EUR', customerId: 'c-1', attempt: 1 }, trace(orderId))], tx));
  const refund = (orderId: string) => h.inTx((tx) => payment.handleMany([newEnvelope('RefundPayment', orderId, { reason: 'PAYMENT_FAILED' }, trace(orderId))], tx));

  it('a refund that found no charge still closes the order: the charge that comes later (a DLQ replay) charges nothing', async () => {
    const orderId = randomUUID();
    await refund(orderId);
    await charge(orderId);

    expect(await h.dataSource.query('SELECT status FROM payments WHERE order_id = ?', [orderId])).toEqual([]);
    const replies = (await h.staged(orderId)).map((s) => s.envelope);
    expect(replies.map((r) => r.eventType)).toEqual(['PaymentRefunded', 'PaymentRejected']);
    expect(replies[1].payload).toMatchObject({ reason: 'ORDER_COMPENSATED', transient: false });
  });

  it('a charge refunded and then redelivered is refused, not charged again', async () => {
    const orderId = randomUUID();
    await charge(orderId);
    await refund(orderId);
    await charge(orderId);
    expect(await h.dataSource.query('SELECT status FROM payments WHERE order_id = ?', [orderId])).toEqual([{ status: 'REFUNDED' }]);
    const last = (await h.staged(orderId)).at(-1)!.envelope;
    expect(last).toMatchObject({ eventType: 'PaymentRejected', payload: { reason: 'ORDER_COMPENSATED' } });
  });
});

describe('shipping: cancellation (real MariaDB)', () => {
  let h: SystemHarness;
  let shipping: ShippingService;
  let simulator: ShippingSimulator;
  let delivery: DeliveryScheduler;
  beforeAll(async () => {
    h = await startSystemHarness(ShippingModule);
    shipping = h.moduleRef.get(ShippingService);
    simulator = h.moduleRef.get(ShippingSimulator);
    delivery = h.moduleRef.get(DeliveryScheduler);
  });
  afterAll(() => h?.close());
  afterEach(() => simulator.reset());

  const address = { line1: '12 St James Square', city: 'London', postalCode: 'SW1Y 4JH', country: 'GB' };
  const request = (orderId: string) =>
    h.inTx((tx) =>
      shipping.handleMany([newEnvelope('ShipmentRequested', orderId, { shippingAddress: address, items: [{ productId: 'SKU-1', quantity: 1 }], attempt: 1 }, trace(orderId))], tx),
    );
  const cancel = (orderId: string) => h.inTx((tx) => shipping.handleMany([newEnvelope('CancelShipment', orderId, { reason: 'SHIPPING_FAILED' }, trace(orderId))], tx));
  const shipment = async (orderId: string) => (await h.dataSource.query('SELECT status FROM shipments WHERE order_id = ?', [orderId]))[0]?.status as string | undefined;

  it('a shipment in transit is cancelled, announced as CANCELLED, and never delivered', async () => {
    simulator.configure({ failureRate: 0, deliveryDelayMs: 0, latency: { minMs: 0, maxMs: 0 } });
    const orderId = randomUUID();
    await request(orderId);
    await cancel(orderId);
    expect(await shipment(orderId)).toBe('CANCELLED');

    // Due for delivery long ago: the delivery pass still leaves it alone.
    await h.dataSource.query('UPDATE shipments SET deliver_after = ? WHERE order_id = ?', [new Date(Date.now() - 60_000), orderId]);
    await delivery.deliverDue(new Date());
    expect(await shipment(orderId)).toBe('CANCELLED');

    const staged = (await h.staged(orderId)).map((s) => s.envelope);
    expect(staged.map((m) => m.eventType)).toEqual(['ShipmentCreated', 'ShipmentStatusChanged', 'ShipmentCancelled', 'ShipmentStatusChanged']);
    expect(staged[2].payload).toMatchObject({ cancelled: true });
    expect(staged[3].payload).toMatchObject({ status: 'CANCELLED' });
  });

  it('a cancellation without a shipment closes the order: a request that comes later ships nothing', async () => {
    simulator.configure({ failureRate: 0 });
    const orderId = randomUUID();
    await cancel(orderId);
    await request(orderId);
    expect(await shipment(orderId)).toBeUndefined();
    const staged = (await h.staged(orderId)).map((s) => s.envelope);
    expect(staged.map((m) => m.eventType)).toEqual(['ShipmentCancelled', 'ShipmentRejected']);
    expect(staged[0].payload).toEqual({ shipmentId: null, cancelled: false });
    expect(staged[1].payload).toMatchObject({ reason: 'ORDER_COMPENSATED', transient: false });
  });

  it('request and cancellation in one batch: the shipment is written CANCELLED', async () => {
    simulator.configure({ failureRate: 0 });
    const orderId = randomUUID();
    await h.inTx((tx) =>
      shipping.handleMany(
        [
          newEnvelope('ShipmentRequested', orderId, { shippingAddress: address, items: [{ productId: 'SKU-1', quantity: 1 }], attempt: 1 }, trace(orderId)),
          newEnvelope('CancelShipment', orderId, { reason: 'SHIPPING_FAILED' }, trace(orderId)),
        ],
        tx,
      ),
    );
    expect(await shipment(orderId)).toBe('CANCELLED');
  });

  it('a delivered shipment cannot be cancelled: the answer says so', async () => {
    simulator.configure({ failureRate: 0, deliveryDelayMs: 0, latency: { minMs: 0, maxMs: 0 } });
    const orderId = randomUUID();
    await request(orderId);
    await h.dataSource.query("UPDATE shipments SET status = 'DELIVERED' WHERE order_id = ?", [orderId]);
    await cancel(orderId);
    expect(await shipment(orderId)).toBe('DELIVERED');
    expect((await h.staged(orderId)).at(-1)!.envelope.payload).toMatchObject({ cancelled: false });
  });
});
