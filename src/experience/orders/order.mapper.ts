import type { OrderView } from '../../platform/order-store/order-store.service.js';
import type { OrderResponseDto } from './dto/order.response.dto.js';

/** Database rows → the API's order document (absent values are left out, not null). */
export function toOrderResponse({ order, customer, items, history }: OrderView): OrderResponseDto {
  const fulfillment =
    order.trackingNumber || order.shipmentStatus
      ? {
          ...(order.carrier ? { carrier: order.carrier } : {}),
          ...(order.trackingNumber ? { trackingNumber: order.trackingNumber } : {}),
          ...(order.estimatedDelivery ? { estimatedDelivery: order.estimatedDelivery.toISOString() } : {}),
          ...(order.shipmentStatus ? { shipmentStatus: order.shipmentStatus } : {}),
        }
      : undefined;
  return {
    orderId: order.id,
    status: order.status,
    ...(order.statusReason ? { reason: order.statusReason } : {}),
    customer: {
      id: customer.id,
      ...(customer.externalId ? { externalId: customer.externalId } : {}),
      name: customer.name,
      email: customer.email,
      ...(customer.phone ? { phone: customer.phone } : {}),
    },
    shippingAddress: {
      line1: order.shipLine1,
      ...(order.shipLine2 ? { line2: order.shipLine2 } : {}),
      city: order.shipCity,
      postalCode: order.shipPostalCode,
      country: order.shipCountry,
    },
    items: items.map((i) => ({ productId: i.productId, quantity: i.quantity, ...(i.unitPrice !== null ? { unitPrice: i.unitPrice } : {}) })),
    ...(order.total !== null ? { total: order.total } : {}),
    currency: order.currency,
    history: history.map((h) => ({
      status: h.toStatus,
      ...(h.fromStatus ? { from: h.fromStatus } : {}),
      ...(h.reason ? { reason: h.reason } : {}),
      at: h.occurredAt.toISOString(),
    })),
    ...(fulfillment ? { fulfillment } : {}),
    correlationId: order.correlationId,
    createdAt: order.createdAt.toISOString(),
    updatedAt: order.updatedAt.toISOString(),
  };
}
