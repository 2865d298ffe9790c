import type { Address } from '../contracts/messages.js';
import type { FailureReason, OrderStatus, ShipmentStatus } from '../contracts/order-status.js';

/*
 * The order's rows as the database returns them (snake_case) and as the application uses them,
 * with one mapper per shape. Columns a transition sets are the third shape: see order-patch.ts.
 */

/** The columns of `orders` a saga step reads (and locks). */
export interface LockedOrderRow {
  id: string;
  status: OrderStatus;
  version: number;
  shipment_status: ShipmentStatus | null;
  customer_id: string;
  currency: string;
  total: number | null;
  payment_id: string | null;
  correlation_id: string;
  ship_line1: string;
  ship_line2: string | null;
  ship_city: string;
  ship_postal_code: string;
  ship_country: string;
  cancel_requested_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** Every column of `orders`. */
export interface OrderRow extends LockedOrderRow {
  client_id: string | null;
  status_reason: string | null;
  shipment_id: string | null;
  carrier: string | null;
  tracking_number: string | null;
  estimated_delivery: Date | null;
}

/** An order as a saga step sees it. */
export interface LockedOrder {
  id: string;
  status: OrderStatus;
  /** Bumped by each event of the order's log: the seq of its last event. */
  version: number;
  shipmentStatus: ShipmentStatus | null;
  customerId: string;
  currency: string;
  total: number | null;
  paymentId: string | null;
  correlationId: string;
  shippingAddress: Address;
  /** When the owner asked to cancel it; from then on the saga cancels it instead of moving it on. */
  cancelRequestedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A whole order, as the API shows it. */
export interface Order extends LockedOrder {
  /** The OAuth client that owns it; null for orders from before owners were recorded (admins only). */
  clientId: string | null;
  statusReason: string | null;
  shipmentId: string | null;
  carrier: string | null;
  trackingNumber: string | null;
  estimatedDelivery: Date | null;
}

export function toLockedOrder(r: LockedOrderRow): LockedOrder {
  return {
    id: r.id,
    status: r.status,
    version: r.version,
    shipmentStatus: r.shipment_status,
    customerId: r.customer_id,
    currency: r.currency,
    total: r.total,
    paymentId: r.payment_id,
    correlationId: r.correlation_id,
    shippingAddress: {
      line1: r.ship_line1,
      ...(r.ship_line2 ? { line2: r.ship_line2 } : {}),
      city: r.ship_city,
      postalCode: r.ship_postal_code,
      country: r.ship_country,
    },
    cancelRequestedAt: r.cancel_requested_at === null ? null : new Date(r.cancel_requested_at),
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

export function toOrder(r: OrderRow): Order {
  return {
    ...toLockedOrder(r),
    clientId: r.client_id,
    statusReason: r.status_reason,
    shipmentId: r.shipment_id,
    carrier: r.carrier,
    trackingNumber: r.tracking_number,
    estimatedDelivery: r.estimated_delivery === null ? null : new Date(r.estimated_delivery),
  };
}

export interface OrderItemRow {
  id: string | number;
  order_id: string;
  product_id: string;
  quantity: number;
  unit_price: string | number | null;
}

export interface OrderItem {
  /** order_items.id (a BIGINT, kept as text) */
  id: string;
  orderId: string;
  productId: string;
  quantity: number;
  unitPrice: number | null;
}

export function toOrderItem(r: OrderItemRow): OrderItem {
  return { id: String(r.id), orderId: r.order_id, productId: r.product_id, quantity: r.quantity, unitPrice: r.unit_price === null ? null : Number(r.unit_price) };
}

export interface HistoryEntryRow {
  from_status: OrderStatus | null;
  to_status: OrderStatus;
  reason: string | null;
  occurred_at: Date;
}

export interface HistoryEntry {
  fromStatus: OrderStatus | null;
  toStatus: OrderStatus;
  reason: string | null;
  occurredAt: Date;
}

export function toHistoryEntry(r: HistoryEntryRow): HistoryEntry {
  return { fromStatus: r.from_status, toStatus: r.to_status, reason: r.reason, occurredAt: new Date(r.occurred_at) };
}

/**
 * A history row to insert: order_id, seq (the order's version after the change, which makes the row
 * the order's status event too: see OrderEventRepository), from_status, to_status, reason, occurred_at.
 */
export type HistoryValues = [orderId: string, seq: number, from: OrderStatus, to: OrderStatus, reason: FailureReason | null, at: Date];

export interface CustomerRow {
  id: string;
  external_id: string | null;
  name: string;
  email: string;
  phone: string | null;
}

export interface Customer {
  id: string;
  externalId: string | null;
  name: string;
  email: string;
  phone: string | null;
}

export function toCustomer(r: CustomerRow): Customer {
  return { id: r.id, externalId: r.external_id, name: r.name, email: r.email, phone: r.phone };
}
