import type { FailureReason, OrderStatus, ShipmentStatus } from '../contracts/order-status.js';

/** Extra columns a transition may set along with the status. */
export interface OrderPatch {
  total?: number;
  currency?: string;
  paymentId?: string;
  shipmentId?: string;
  carrier?: string;
  trackingNumber?: string;
  estimatedDelivery?: Date;
  shipmentStatus?: ShipmentStatus;
}

/**
 * One order's net change within a batch of saga messages: its status move (from the first `from` to the
 * last `to`), if any, the columns its messages set, merged in order, and how many events it appended to
 * the order's event log (each one bumps the order's version).
 */
export interface OrderChange {
  orderId: string;
  move?: { from: OrderStatus; to: OrderStatus; reason: FailureReason | null };
  patch: OrderPatch;
  events: number;
}

const FINAL_SHIPMENT_STATUSES: readonly ShipmentStatus[] = ['DELIVERED', 'FAILED', 'CANCELLED'];

const PATCH_COLUMNS: Record<keyof OrderPatch, string> = {
  total: 'total',
  currency: 'currency',
  paymentId: 'payment_id',
  shipmentId: 'shipment_id',
  carrier: 'carrier',
  trackingNumber: 'tracking_number',
  estimatedDelivery: 'estimated_delivery',
  shipmentStatus: 'shipment_status',
};

/** DELIVERED, FAILED or CANCELLED: the shipment changes no more. */
export function isFinalShipmentStatus(status: ShipmentStatus): boolean {
  return FINAL_SHIPMENT_STATUSES.includes(status);
}

/** `later` applied after `earlier`, as two UPDATEs would: a final shipment status is never overwritten. */
export function mergePatches(earlier: OrderPatch, later: OrderPatch): OrderPatch {
  const merged: OrderPatch = { ...earlier };
  for (const key of patchKeys(later)) {
    if (key === 'shipmentStatus' && earlier.shipmentStatus && FINAL_SHIPMENT_STATUSES.includes(earlier.shipmentStatus)) continue;
    Object.assign(merged, { [key]: later[key] });
  }
  return merged;
}

/** The patch's defined fields, in a fixed order (so equal shapes compare equal). */
export function patchKeys(patch: OrderPatch): Array<keyof OrderPatch> {
  return (Object.keys(PATCH_COLUMNS) as Array<keyof OrderPatch>).filter((key) => patch[key] !== undefined);
}

/** `col = value` for one patched column; `value` is the SQL of its value (a placeholder or a CASE). */
export function patchSet(key: keyof OrderPatch, value: string): string {
  // A shipment's final status is never overwritten by a late, earlier one (replies cross topics).
  return key === 'shipmentStatus'
    ? `shipment_status = IF(shipment_status IN (${FINAL_SHIPMENT_STATUSES.map((status) => `'${status}'`).join(', ')}), shipment_status, ${value})`
    : `${PATCH_COLUMNS[key]} = ${value}`;
}
