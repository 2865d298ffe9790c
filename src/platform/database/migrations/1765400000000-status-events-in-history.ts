import { sqlMigration } from './migration.helpers.js';

/**
 * Status events are read from `order_status_history` (docs/adr/0013-status-events-in-history.md):
 * every transition already writes a history row in its transaction, so the row takes the event's `seq`
 * (the order's version after the change) and `order_events` keeps only the shipment's events: one
 * row per status change written instead of two.
 * - `seq`: NULL on rows written before this migration. Their orders' status events stay where they were
 *   written, in `order_events` (the stream reads both tables, and seqs never repeat within an order),
 *   so nothing is copied.
 * - `ix_history_order (order_id, id)` serves the stream's read of one order's rows.
 */
export class StatusEventsInHistory1765400000000 extends sqlMigration(
  'StatusEventsInHistory1765400000000',
  ['ALTER TABLE order_status_history ADD COLUMN seq INT UNSIGNED NULL AFTER order_id'],
  ['ALTER TABLE order_status_history DROP COLUMN seq'],
) {}
