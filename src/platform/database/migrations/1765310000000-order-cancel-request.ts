import { sqlMigration } from './migration.helpers.js';

/**
 * `orders.cancel_requested_at`: when the owner asked to cancel the order (docs/architecture.md §4,
 * docs/adr/0009-order-cancellation.md). Set once, by a guarded UPDATE that only matches a cancellable
 * status; from then on the saga moves the order to CANCELLED, never forward. NULL: never asked.
 */
export class OrderCancelRequest1765310000000 extends sqlMigration(
  'OrderCancelRequest1765310000000',
  ['ALTER TABLE orders ADD COLUMN cancel_requested_at DATETIME(3) NULL AFTER status_reason'],
  ['ALTER TABLE orders DROP COLUMN cancel_requested_at'],
) {}
