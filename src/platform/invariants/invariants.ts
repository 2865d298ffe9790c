/**
 * The system's invariants I1–I7 (docs/architecture.md §7.8) as data: what a violation looks like and the
 * statuses the checks read. The checker keeps its own status lists, written from the product's
 * rules, so a change to the code's lists cannot silently change what is checked.
 */

export const INVARIANTS = ['I1', 'I2', 'I3', 'I4', 'I5', 'I6', 'I7'] as const;
export type InvariantId = (typeof INVARIANTS)[number];

/** What each invariant promises, in a line (printed by the CLI). */
export const INVARIANT_TITLES: Record<InvariantId, string> = {
  I1: 'every accepted order exists and is terminal',
  I2: 'SHIPPED ⇔ one live shipment, one unrefunded charge, its stock committed',
  I3: 'a failed or cancelled order holds no reservation, no charge, no live shipment',
  I4: 'per product: reserved = active reservations, never negative, on-hand dropped by what shipped',
  I5: 'at most one inbox row per (group, event), one payment and shipment per order, one reservation line per (order, product)',
  I6: 'the DLQ is empty (unless poison was injected)',
  I7: 'HTTP never answered a 5xx other than 503',
};

export interface Violation {
  invariant: InvariantId;
  /** The orders involved (empty where the invariant is not about orders, e.g. the inbox or the DLQ). */
  orderIds: string[];
  productIds?: string[];
  detail: string;
}

export interface NotChecked {
  invariant: InvariantId;
  reason: string;
  /** True when the check was asked for but its source could not be read (the CLI then exits 2). */
  failed: boolean;
}

export interface InvariantReport {
  violations: Violation[];
  checked: InvariantId[];
  notChecked: NotChecked[];
  /** Orders in scope (those named, those since the given time, or all). */
  orders: number;
  /** Rounds of the database checks (more than one when waiting for a clean state). */
  rounds: number;
  /** From the start until the database checks were last run (clean, or the wait ran out). */
  elapsedMs: number;
}

export const NON_TERMINAL_STATUSES = ['RECEIVED', 'INVENTORY_CHECK_STARTED', 'INVENTORY_CONFIRMED', 'PAYMENT_COMPLETED', 'SHIPPING_REQUESTED'] as const;
/** Terminal statuses in which the order must hold nothing (I3). */
export const UNDONE_STATUSES = ['INVENTORY_FAILED', 'PAYMENT_FAILED', 'SHIPPING_FAILED', 'CANCELLED'] as const;
export const TERMINAL_STATUSES = ['SHIPPED', ...UNDONE_STATUSES] as const;

/** Shipment statuses of a shipment that exists for real (a CANCELLED one is never delivered). */
export const LIVE_SHIPMENT_STATUSES = ['PENDING', 'IN_TRANSIT', 'DELIVERED'] as const;
export const RESERVATION_ACTIVE = 'RESERVED';
export const RESERVATION_COMMITTED = 'COMMITTED';
/** A payment in this status is a charge not refunded. */
export const PAYMENT_CHARGED = 'CHARGED';

/** Products' stock before a run, to check afterwards that on-hand dropped by exactly what shipped. */
export interface StockBaseline {
  takenAt: string;
  products: Record<string, { stockOnHand: number; committed?: number; shipped?: number }>;
}
