import type { OrderSummary } from '../../order-store/order.repository.js';
import type { Customer, HistoryEntry, Order, OrderItem } from '../../order-store/order.rows.js';
import type { OrderSummaryDto } from './dto/list-orders.dto.js';
import type { OrderResponseDto } from './dto/order.response.dto.js';
import type { OrderView } from './orders.service.js';

/** The order's records → the API's order document (absent values are left out, not null). */
export function toOrderResponse({ order, customer, items, history }: OrderView): OrderResponseDto {
  const fulfillment = fulfillmentOf(order);
  return {
    orderId: order.id,
    status: order.status,
    ...(order.statusReason ? { reason: order.statusReason } : {}),
    customer: customerOf(customer),
    shippingAddress: { ...order.shippingAddress },
    items: items.map(itemOf),
    ...(order.total !== null ? { total: order.total } : {}),
    currency: order.currency,
    history: history.map(historyEntryOf),
    ...(fulfillment ? { fulfillment } : {}),
    correlationId: order.correlationId,
    createdAt: order.createdAt.toISOString(),
    updatedAt: order.updatedAt.toISOString(),
  };
}

function fulfillmentOf(order: Order): OrderResponseDto['fulfillment'] {
  if (!order.trackingNumber && !order.shipmentStatus) return undefined;
  return {
    ...(order.carrier ? { carrier: order.carrier } : {}),
    ...(order.trackingNumber ? { trackingNumber: order.trackingNumber } : {}),
    ...(order.estimatedDelivery ? { estimatedDelivery: order.estimatedDelivery.toISOString() } : {}),
    ...(order.shipmentStatus ? { shipmentStatus: order.shipmentStatus } : {}),
  };
}

function customerOf(customer: Customer): OrderResponseDto['customer'] {
  return {
    id: customer.id,
    ...(customer.externalId ? { externalId: customer.externalId } : {}),
    name: customer.name,
    email: customer.email,
    ...(customer.phone ? { phone: customer.phone } : {}),
  };
}

function itemOf(i: OrderItem): OrderResponseDto['items'][number] {
  return { productId: i.productId, quantity: i.quantity, ...(i.unitPrice !== null ? { unitPrice: i.unitPrice } : {}) };
}

function historyEntryOf(h: HistoryEntry): OrderResponseDto['history'][number] {
  return {
    status: h.toStatus,
    ...(h.fromStatus ? { from: h.fromStatus } : {}),
    ...(h.reason ? { reason: h.reason } : {}),
    at: h.occurredAt.toISOString(),
  };
}

/** An order of a listing → its summary in the API (absent values are left out, not null). */
export function toOrderSummary(o: OrderSummary): OrderSummaryDto {
  return {
    orderId: o.id,
    status: o.status,
    ...(o.statusReason ? { reason: o.statusReason } : {}),
    ...(o.total !== null ? { total: o.total } : {}),
    currency: o.currency,
    createdAt: o.createdAt.toISOString(),
    updatedAt: o.updatedAt.toISOString(),
  };
}
