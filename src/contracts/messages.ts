import Joi from 'joi';
import { FAILURE_REASONS, ORDER_STATUSES, SHIPMENT_STATUSES, type FailureReason, type OrderStatus, type ShipmentStatus } from './order-status.js';

/**
 * Every message type and its payload schema. Layers share only these contracts (and the envelope):
 * a consumer validates the payload here on the way in, a producer builds it from these types.
 */
const money = Joi.number().precision(2).min(0);
const currency = Joi.string().length(3).uppercase();
const reason = Joi.string().valid(...FAILURE_REASONS);

export interface OrderLine {
  productId: string;
  quantity: number;
}
export interface PricedLine extends OrderLine {
  unitPrice: number;
}
export interface Address {
  line1: string;
  line2?: string;
  city: string;
  postalCode: string;
  country: string;
}
const orderLine = Joi.object({ productId: Joi.string().max(64).required(), quantity: Joi.number().integer().min(1).max(1000).required() });
const pricedLine = orderLine.keys({ unitPrice: money.required() });
const address = Joi.object({
  line1: Joi.string().required(),
  line2: Joi.string().optional(),
  city: Joi.string().required(),
  postalCode: Joi.string().required(),
  country: Joi.string().length(2).required(),
});

export interface Payloads {
  // orders-in
  OrderCreated: {
    customer: { id: string; name: string; email: string; phone?: string };
    shippingAddress: Address;
    items: OrderLine[];
    currency: string;
  };
  // orders-validated
  OrderValidated: { items: PricedLine[]; total: number; currency: string; paymentId: string };
  // order-status
  OrderStatusChanged: { from: OrderStatus | null; to: OrderStatus; reason?: FailureReason; at: string };
  // inventory-requests
  ReserveStock: { items: OrderLine[]; currency: string; attempt: number };
  ReleaseStock: { reason: string };
  CommitStock: Record<string, never>;
  // inventory-replies
  StockReservationConfirmed: { items: PricedLine[]; total: number; currency: string };
  StockReservationRejected: { reason: FailureReason; transient: boolean; detail?: string };
  StockReleaseConfirmed: { released: boolean };
  // inventory-updates
  StockReserved: { items: OrderLine[] };
  StockReleased: { items: OrderLine[] };
  StockCommitted: { items: OrderLine[] };
  // payment-requests
  ChargePayment: { amount: number; currency: string; customerId: string; attempt: number };
  RefundPayment: { reason: string };
  // payment-replies
  PaymentCharged: { paymentId: string; amount: number; currency: string };
  PaymentRejected: { reason: FailureReason; transient: boolean; detail?: string };
  PaymentRefunded: { paymentId: string | null; amount: number };
  // shipping-updates
  ShipmentRequested: { shippingAddress: Address; items: OrderLine[]; attempt: number };
  CancelShipment: { reason: string };
  ShipmentStatusChanged: {
    shipmentId: string;
    status: ShipmentStatus;
    carrier: string;
    trackingNumber: string;
    estimatedDelivery: string;
  };
  // shipping-replies
  ShipmentCreated: { shipmentId: string; carrier: string; trackingNumber: string; estimatedDelivery: string; status: ShipmentStatus };
  ShipmentRejected: { reason: FailureReason; transient: boolean; detail?: string };
  /** `shipmentId` null: there was no shipment to cancel (a later request for the order is refused). */
  ShipmentCancelled: { shipmentId: string | null; cancelled: boolean };
}
export type EventType = keyof Payloads;

const rejection = Joi.object({ reason: reason.required(), transient: Joi.boolean().required(), detail: Joi.string().optional() });
const shipmentFields = {
  shipmentId: Joi.string().required(),
  status: Joi.string()
    .valid(...SHIPMENT_STATUSES)
    .required(),
  carrier: Joi.string().required(),
  trackingNumber: Joi.string()
    .pattern(/^SHIP-/)
    .required(),
  estimatedDelivery: Joi.string().isoDate().required(),
};

export const payloadSchemas: { [K in EventType]: Joi.ObjectSchema } = {
  OrderCreated: Joi.object({
    customer: Joi.object({ id: Joi.string().required(), name: Joi.string().required(), email: Joi.string().required(), phone: Joi.string().optional() }).required(),
    shippingAddress: address.required(),
    items: Joi.array().items(orderLine).min(1).max(100).required(),
    currency: currency.required(),
  }),
  OrderValidated: Joi.object({
    items: Joi.array().items(pricedLine).min(1).required(),
    total: money.required(),
    currency: currency.required(),
    paymentId: Joi.string().required(),
  }),
  OrderStatusChanged: Joi.object({
    from: Joi.string()
      .valid(...ORDER_STATUSES)
      .allow(null)
      .required(),
    to: Joi.string()
      .valid(...ORDER_STATUSES)
      .required(),
    reason: reason.optional(),
    at: Joi.string().isoDate().required(),
  }),
  ReserveStock: Joi.object({ items: Joi.array().items(orderLine).min(1).required(), currency: currency.required(), attempt: Joi.number().integer().min(1).required() }),
  ReleaseStock: Joi.object({ reason: Joi.string().required() }),
  CommitStock: Joi.object({}),
  StockReservationConfirmed: Joi.object({ items: Joi.array().items(pricedLine).min(1).required(), total: money.required(), currency: currency.required() }),
  StockReservationRejected: rejection,
  StockReleaseConfirmed: Joi.object({ released: Joi.boolean().required() }),
  StockReserved: Joi.object({ items: Joi.array().items(orderLine).required() }),
  StockReleased: Joi.object({ items: Joi.array().items(orderLine).required() }),
  StockCommitted: Joi.object({ items: Joi.array().items(orderLine).required() }),
  ChargePayment: Joi.object({ amount: money.required(), currency: currency.required(), customerId: Joi.string().required(), attempt: Joi.number().integer().min(1).required() }),
  RefundPayment: Joi.object({ reason: Joi.string().required() }),
  PaymentCharged: Joi.object({ paymentId: Joi.string().required(), amount: money.required(), currency: currency.required() }),
  PaymentRejected: rejection,
  PaymentRefunded: Joi.object({ paymentId: Joi.string().allow(null).required(), amount: money.required() }),
  ShipmentRequested: Joi.object({ shippingAddress: address.required(), items: Joi.array().items(orderLine).min(1).required(), attempt: Joi.number().integer().min(1).required() }),
  CancelShipment: Joi.object({ reason: Joi.string().required() }),
  ShipmentStatusChanged: Joi.object(shipmentFields),
  ShipmentCreated: Joi.object(shipmentFields),
  ShipmentRejected: rejection,
  ShipmentCancelled: Joi.object({ shipmentId: Joi.string().allow(null).required(), cancelled: Joi.boolean().required() }),
};

export function isEventType(value: string): value is EventType {
  return Object.prototype.hasOwnProperty.call(payloadSchemas, value);
}
