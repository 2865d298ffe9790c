import { sqlMigration, TABLE_OPTIONS } from './migration.helpers.js';

/** `updated_at` as the API writes times: ISO 8601 in UTC with milliseconds. */
const ISO_UPDATED_AT = `CONCAT(DATE_FORMAT(updated_at, '%Y-%m-%dT%H:%i:%s.'), LPAD(FLOOR(MICROSECOND(updated_at) / 1000), 3, '0'), 'Z')`;

/**
 * `order_events`: each order's append-only event log for the live status stream
 * (`GET /api/orders/{id}/events`, docs/order-events.md, ADR 0010). Written in the transaction of the
 * change it records; `seq` is the order's `version` after the change, so it is dense per order.
 * - `kind`: `status` or `fulfillment`; `data`: the event's JSON as the stream sends it, as text (like
 *   every other column, no JSON type: MariaDB's validates each value on insert, and its semantics
 *   differ from MySQL 8's; the service writes and reads it, the database never looks inside).
 * - Orders written before this migration get one row: their current status, at their current version.
 */
export class OrderEvents1765320000000 extends sqlMigration(
  'OrderEvents1765320000000',
  [
    `CREATE TABLE order_events (
       order_id CHAR(36) NOT NULL,
       seq INT UNSIGNED NOT NULL,
       kind VARCHAR(16) NOT NULL,
       data TEXT NOT NULL,
       occurred_at DATETIME(3) NOT NULL,
       PRIMARY KEY (order_id, seq)
     ) ${TABLE_OPTIONS}`,
    `INSERT INTO order_events (order_id, seq, kind, data, occurred_at)
       SELECT id, version, 'status',
              IF(status_reason IS NULL, JSON_OBJECT('orderId', id, 'status', status, 'at', ${ISO_UPDATED_AT}),
                 JSON_OBJECT('orderId', id, 'status', status, 'reason', status_reason, 'at', ${ISO_UPDATED_AT})),
              updated_at
       FROM orders`,
  ],
  ['DROP TABLE order_events'],
) {}
