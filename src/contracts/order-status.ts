/** The order statuses: the nine of the saga's happy and failure paths, and CANCELLED. */
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
  'CANCELLED',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<OrderStatus> = new Set(['INVENTORY_FAILED', 'PAYMENT_FAILED', 'SHIPPED', 'SHIPPING_FAILED', 'CANCELLED']);

/** Terminal statuses in which nothing may stay reserved, charged or shipped: the saga undoes any late success. */
export const CLOSED_STATUSES: ReadonlySet<OrderStatus> = new Set(['INVENTORY_FAILED', 'PAYMENT_FAILED', 'SHIPPING_FAILED', 'CANCELLED']);

/** Statuses an owner may cancel the order in: before SHIPPING_REQUESTED (docs/architecture.md §4). */
const CANCELLABLE = ['RECEIVED', 'INVENTORY_CHECK_STARTED', 'INVENTORY_CONFIRMED', 'PAYMENT_COMPLETED'] as const satisfies readonly OrderStatus[];
export type CancellableStatus = (typeof CANCELLABLE)[number];
export const CANCELLABLE_STATUSES: ReadonlySet<OrderStatus> = new Set(CANCELLABLE);

export function isCancellable(status: OrderStatus): status is CancellableStatus {
  return CANCELLABLE_STATUSES.has(status);
}

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
  /** A system module refused a forward command because it already compensated the order. */
  'ORDER_COMPENSATED',
  'CANCELLED_BY_CLIENT',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** A CANCELLED shipment is one the saga called off (its order failed or was cancelled): never delivered. */
export const SHIPMENT_STATUSES = ['PENDING', 'IN_TRANSIT', 'DELIVERED', 'FAILED', 'CANCELLED'] as const;
export type ShipmentStatus = (typeof SHIPMENT_STATUSES)[number];
