import { z } from 'zod';
import { FAILURE_REASONS, ORDER_STATUSES, SHIPMENT_STATUSES } from './order-status.js';
import { currency, integer, isoDate, money, text, boolean } from './schema-kit.js';

/**
 * Every message type and its payload schema: the one source of the TypeScript type (`Payloads`), the
 * validator and the AsyncAPI document (asyncapi/asyncapi.yaml). Layers share only these contracts (and
 * the envelope): a consumer validates the payload here on the way in, a producer builds it from these
 * types. Objects ignore keys they do not know (docs/events.md): a field added within a major version is
 * dropped by a consumer that does not know it yet.
 */
const reason = z.enum(FAILURE_REASONS);
const attempt = integer(1);

const orderLine = z.object({ productId: text.max(64), quantity: integer(1, 1000) });
const pricedLine = orderLine.extend({ unitPrice: money });
const address = z.object({
  line1: text,
  line2: text.optional(),
  city: text,
  postalCode: text,
  country: z.string().length(2),
});
export type OrderLine = z.output<typeof orderLine>;
export type PricedLine = z.output<typeof pricedLine>;
export type Address = z.output<typeof address>;

const rejection = z.object({ reason, transient: boolean, detail: text.optional() });
const shipment = z.object({
  shipmentId: text,
  status: z.enum(SHIPMENT_STATUSES),
  carrier: text,
  trackingNumber: text.regex(/^SHIP-/),
  estimatedDelivery: isoDate,
});

export const payloadSchemas = {
  // orders-in
  OrderCreated: z.object({
    customer: z.object({ id: text, name: text, email: text, phone: text.optional() }),
    shippingAddress: address,
    items: z.array(orderLine).min(1).max(100),
    currency,
  }),
  /** The owner asked to cancel the order (`requestedBy`: the OAuth client that asked; `at`: when the API accepted it). */
  OrderCancellationRequested: z.object({ requestedBy: text.max(200).optional(), at: isoDate }),
  // orders-validated
  OrderValidated: z.object({ items: z.array(pricedLine).min(1), total: money, currency, paymentId: text }),
  // order-status
  OrderStatusChanged: z.object({ from: z.enum(ORDER_STATUSES).nullable(), to: z.enum(ORDER_STATUSES), reason: reason.optional(), at: isoDate }),
  // inventory-requests
  ReserveStock: z.object({ items: z.array(orderLine).min(1), currency, attempt }),
  ReleaseStock: z.object({ reason: text }),
  CommitStock: z.object({}),
  // inventory-replies
  StockReservationConfirmed: z.object({ items: z.array(pricedLine).min(1), total: money, currency }),
  StockReservationRejected: rejection,
  StockReleaseConfirmed: z.object({ released: boolean }),
  // inventory-updates
  StockReserved: z.object({ items: z.array(orderLine) }),
  StockReleased: z.object({ items: z.array(orderLine) }),
  StockCommitted: z.object({ items: z.array(orderLine) }),
  // payment-requests
  ChargePayment: z.object({ amount: money, currency, customerId: text, attempt }),
  RefundPayment: z.object({ reason: text }),
  // payment-replies
  PaymentCharged: z.object({ paymentId: text, amount: money, currency }),
  PaymentRejected: rejection,
  PaymentRefunded: z.object({ paymentId: text.nullable(), amount: money }),
  // shipping-updates
  ShipmentRequested: z.object({ shippingAddress: address, items: z.array(orderLine).min(1), attempt }),
  CancelShipment: z.object({ reason: text }),
  ShipmentStatusChanged: shipment,
  // shipping-replies
  ShipmentCreated: shipment,
  ShipmentRejected: rejection,
  /** `shipmentId` null: there was no shipment to cancel (a later request for the order is refused). */
  ShipmentCancelled: z.object({ shipmentId: text.nullable(), cancelled: boolean }),
};

export type EventType = keyof typeof payloadSchemas;
export type Payloads = { [K in EventType]: z.output<(typeof payloadSchemas)[K]> };

/**
 * The major `schemaVersion` of each message type: producers stamp it, consumers accept that major only
 * and dead-letter any other (`UNSUPPORTED_SCHEMA_VERSION`). Bump a type's number only for a change an
 * older consumer cannot read (a field removed, renamed or retyped, a new required meaning); adding a
 * field is not one. docs/events.md says how to roll out a new major.
 */
export const SCHEMA_VERSIONS: { readonly [K in EventType]: number } = {
  OrderCreated: 1,
  OrderCancellationRequested: 1,
  OrderValidated: 1,
  OrderStatusChanged: 1,
  ReserveStock: 1,
  ReleaseStock: 1,
  CommitStock: 1,
  StockReservationConfirmed: 1,
  StockReservationRejected: 1,
  StockReleaseConfirmed: 1,
  StockReserved: 1,
  StockReleased: 1,
  StockCommitted: 1,
  ChargePayment: 1,
  RefundPayment: 1,
  PaymentCharged: 1,
  PaymentRejected: 1,
  PaymentRefunded: 1,
  ShipmentRequested: 1,
  CancelShipment: 1,
  ShipmentStatusChanged: 1,
  ShipmentCreated: 1,
  ShipmentRejected: 1,
  ShipmentCancelled: 1,
};

export function isEventType(value: string): value is EventType {
  return Object.prototype.hasOwnProperty.call(payloadSchemas, value);
}
