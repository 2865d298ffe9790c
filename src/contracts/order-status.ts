/** The nine order statuses of DESIGN §4. */
export const ORDER_STATUSES = [
  'RECEIVED',
  'INVENTORY_CHECK_STARTED',
  'INVENTORY_CONFIRMED',
  'INVENTORY_FAILED',
  'PAYMENT_COMPLETED',
  'PAYMENT_FAILED',
  'SHIPPING_REQUESTED',
  'SHIPPED',
  'SHIPPING_FAILED',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<OrderStatus> = new Set(['INVENTORY_FAILED', 'PAYMENT_FAILED', 'SHIPPED', 'SHIPPING_FAILED']);

/** Reason codes carried by failure statuses (and by business rejections from system modules). */
export const FAILURE_REASONS = [
  'OUT_OF_STOCK',
  'UNKNOWN_PRODUCT',
  'INVENTORY_UNAVAILABLE',
  'PAYMENT_DECLINED',
  'PAYMENT_UNAVAILABLE',
  'CARRIER_REJECTED',
  'CARRIER_UNAVAILABLE',
  'STEP_TIMED_OUT',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

export const SHIPMENT_STATUSES = ['PENDING', 'IN_TRANSIT', 'DELIVERED', 'FAILED'] as const;
export type ShipmentStatus = (typeof SHIPMENT_STATUSES)[number];
