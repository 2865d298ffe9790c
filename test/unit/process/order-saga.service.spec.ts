import type { Envelope } from '../../../src/contracts/envelope.js';
import type { Payloads } from '../../../src/contracts/messages.js';
import { interpret, type SagaMessage } from '../../../src/process/orders/order-saga.service.js';

const ORDER_ID = '3f1c2b9a-8d4e-4f6a-9b7c-1a2b3c4d5e6f';

/** A hand-built envelope as the message processor hands it over (already validated). */
function message<K extends SagaMessage['eventType']>(eventType: K, payload: Payloads[K], causationId?: string): SagaMessage {
  const envelope: Envelope<K, Payloads[K]> = {
    eventId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
    eventType,
    occurredAt: '2025-01-02T03:04:05.000Z',
    orderId: ORDER_ID,
    correlationId: 'corr-1',
    ...(causationId ? { causationId } : {}),
    schemaVersion: 1,
    payload,
  };
  return envelope as SagaMessage;
}

const address = { line1: '1 Main St', city: 'Paris', postalCode: '75001', country: 'FR' };
const shipment = { shipmentId: 'shp-1', carrier: 'DHL', trackingNumber: 'SHIP-123', estimatedDelivery: '2025-01-05T10:00:00.000Z' };

describe('interpret (message → saga event and order columns)', () => {
  it('OrderCreated and OrderValidated start their steps, with nothing to store', () => {
    const created = message('OrderCreated', {
      customer: { id: 'c1', name: 'Ann', email: 'ann@example.com' },
      shippingAddress: address,
      items: [{ productId: 'p1', quantity: 1 }],
      currency: 'EUR',
    });
    expect(interpret(created)).toEqual({ event: { type: 'OrderCreated' } });
    const validated = message('OrderValidated', { items: [{ productId: 'p1', quantity: 1, unitPrice: 5 }], total: 5, currency: 'EUR', paymentId: 'pay-1' });
    expect(interpret(validated)).toEqual({ event: { type: 'OrderValidated' } });
  });

  it('OrderCancellationRequested: CancellationRequested, with nothing to store', () => {
    const requested = message('OrderCancellationRequested', { requestedBy: 'order-flow-partner', at: '2025-01-02T03:04:05.000Z' });
    expect(interpret(requested)).toEqual({ event: { type: 'CancellationRequested' } });
  });

  it('StockReservationConfirmed: StockReserved with the total, currency and unit prices', () => {
    const m = message('StockReservationConfirmed', {
      items: [
        { productId: 'p1', quantity: 2, unitPrice: 9.5 },
        { productId: 'p2', quantity: 1, unitPrice: 3 },
      ],
      total: 22,
      currency: 'USD',
    });
    expect(interpret(m)).toEqual({
      event: { type: 'StockReserved' },
      step: 'release',
      patch: { total: 22, currency: 'USD' },
      prices: [
        { productId: 'p1', unitPrice: 9.5 },
        { productId: 'p2', unitPrice: 3 },
      ],
    });
  });

  it.each([
    { eventType: 'StockReservationRejected', type: 'StockRejected', step: 'inventory', reason: 'OUT_OF_STOCK', transient: false },
    { eventType: 'PaymentRejected', type: 'PaymentRejected', step: 'payment', reason: 'PAYMENT_UNAVAILABLE', transient: true },
    { eventType: 'ShipmentRejected', type: 'ShipmentRejected', step: 'shipping', reason: 'CARRIER_REJECTED', transient: false },
  ] as const)('$eventType: $type on the $step step, carrying reason, transience and the causing command', ({ eventType, type, step, reason, transient }) => {
    const m = message(eventType, { reason, transient, detail: 'ignored' }, 'cmd-42');
    expect(interpret(m)).toEqual({ event: { type, reason, transient, causationId: 'cmd-42' }, step });
  });

  it('a rejection without causationId leaves it undefined (accepted as the current attempt by decide)', () => {
    const { event } = interpret(message('PaymentRejected', { reason: 'PAYMENT_DECLINED', transient: false }));
    expect(event).toEqual({ type: 'PaymentRejected', reason: 'PAYMENT_DECLINED', transient: false, causationId: undefined });
  });

  it('StockReleaseConfirmed and PaymentRefunded complete their compensation steps', () => {
    expect(interpret(message('StockReleaseConfirmed', { released: false }))).toEqual({ event: { type: 'CompensationDone', step: 'release' }, step: 'release' });
    expect(interpret(message('PaymentRefunded', { paymentId: null, amount: 0 }))).toEqual({ event: { type: 'CompensationDone', step: 'refund' }, step: 'refund' });
  });

  it('PaymentCharged: stores the payment id', () => {
    expect(interpret(message('PaymentCharged', { paymentId: 'pay-9', amount: 22, currency: 'EUR' }))).toEqual({
      event: { type: 'PaymentCharged' },
      step: 'refund',
      patch: { paymentId: 'pay-9' },
    });
  });

  it('ShipmentCreated: stores the shipment, its estimated delivery as a Date', () => {
    expect(interpret(message('ShipmentCreated', { ...shipment, status: 'PENDING' }))).toEqual({
      event: { type: 'ShipmentCreated' },
      step: 'cancelShipment',
      patch: { shipmentId: 'shp-1', carrier: 'DHL', trackingNumber: 'SHIP-123', estimatedDelivery: new Date('2025-01-05T10:00:00.000Z'), shipmentStatus: 'PENDING' },
    });
  });

  it('ShipmentStatusChanged: no saga event, only the fulfillment columns', () => {
    expect(interpret(message('ShipmentStatusChanged', { ...shipment, status: 'IN_TRANSIT', trackingNumber: 'SHIP-456', carrier: 'UPS' }))).toEqual({
      event: null,
      patch: { shipmentStatus: 'IN_TRANSIT', trackingNumber: 'SHIP-456', carrier: 'UPS' },
    });
  });

  it('ShipmentRequested (our own command on the shared topic): ignored', () => {
    expect(interpret(message('ShipmentRequested', { shippingAddress: address, items: [{ productId: 'p1', quantity: 1 }], attempt: 1 }))).toEqual({ event: null });
  });

  it('an event type outside the saga is a programming error, not a silent no-op', () => {
    expect(() => interpret(message('CommitStock' as SagaMessage['eventType'], {} as never))).toThrow(/unhandled/);
  });
});
