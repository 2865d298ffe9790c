import { z } from 'zod';
import { FAILURE_REASONS, ORDER_STATUSES, SHIPMENT_STATUSES } from './order-status.js';
import { currency, integer, isoDate, money, text, boolean } from './schema-kit.js';

/**
 * Every message type and its payload schema: the one source of both the TypeScript type (`Payloads`)
 * and the validator. Layers share only these contracts (and the envelope): a consumer validates the
 * payload here on the way in, a producer builds it from these types. Objects refuse unknown keys.
 */
const reason = z.enum(FAILURE_REASONS);
const attempt = integer(1);

const orderLine = z.strictObject({ productId: text.max(64), quantity: integer(1, 1000) });
const pricedLine = orderLine.extend({ unitPrice: money });
const address = z.strictObject({
  line1: text,
  line2: text.optional(),
  city: text,
  postalCode: text,
  country: z.string().length(2),
});
export type OrderLine = z.output<typeof orderLine>;
export type PricedLine = z.output<typeof pricedLine>;
export type Address = z.output<typeof address>;

const rejection = z.strictObject({ reason, transient: boolean, detail: text.optional() });
const shipment = z.strictObject({
  shipmentId: text,
  status: z.enum(SHIPMENT_STATUSES),
  carrier: text,
  trackingNumber: text.regex(/^SHIP-/),
  estimatedDelivery: isoDate,
});

export const payloadSchemas = {
  // orders-in
  OrderCreated: z.strictObject({
    customer: z.strictObject({ id: text, name: text, email: text, phone: text.optional() }),
    shippingAddress: address,
    items: z.array(orderLine).min(1).max(100),
    currency,
  }),
  // orders-validated
  OrderValidated: z.strictObject({ items: z.array(pricedLine).min(1), total: money, currency, paymentId: text }),
  // order-status
  OrderStatusChanged: z.strictObject({ from: z.enum(ORDER_STATUSES).nullable(), to: z.enum(ORDER_STATUSES), reason: reason.optional(), at: isoDate }),
  // inventory-requests
  ReserveStock: z.strictObject({ items: z.array(orderLine).min(1), currency, attempt }),
  ReleaseStock: z.strictObject({ reason: text }),
  CommitStock: z.strictObject({}),
  // inventory-replies
  StockReservationConfirmed: z.strictObject({ items: z.array(pricedLine).min(1), total: money, currency }),
  StockReservationRejected: rejection,
  StockReleaseConfirmed: z.strictObject({ released: boolean }),
  // inventory-updates
  StockReserved: z.strictObject({ items: z.array(orderLine) }),
  StockReleased: z.strictObject({ items: z.array(orderLine) }),
  StockCommitted: z.strictObject({ items: z.array(orderLine) }),
  // payment-requests
  ChargePayment: z.strictObject({ amount: money, currency, customerId: text, attempt }),
  RefundPayment: z.strictObject({ reason: text }),
  // payment-replies
  PaymentCharged: z.strictObject({ paymentId: text, amount: money, currency }),
  PaymentRejected: rejection,
  PaymentRefunded: z.strictObject({ paymentId: text.nullable(), amount: money }),
  // shipping-updates
  ShipmentRequested: z.strictObject({ shippingAddress: address, items: z.array(orderLine).min(1), attempt }),
  CancelShipment: z.strictObject({ reason: text }),
  ShipmentStatusChanged: shipment,
  // shipping-replies
  ShipmentCreated: shipment,
  ShipmentRejected: rejection,
  /** `shipmentId` null: there was no shipment to cancel (a later request for the order is refused). */
  ShipmentCancelled: z.strictObject({ shipmentId: text.nullable(), cancelled: boolean }),
};

export type EventType = keyof typeof payloadSchemas;
export type Payloads = { [K in EventType]: z.output<(typeof payloadSchemas)[K]> };

export function isEventType(value: string): value is EventType {
  return Object.prototype.hasOwnProperty.call(payloadSchemas, value);
}
