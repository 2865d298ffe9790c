import { sqlMigration } from './migration.helpers.js';

/**
 * The indexes of `GET /api/orders` (docs/orders-listing.md): every listing reads newest first by id
 * (time-ordered UUIDv7), so each index has `id` right after its equality columns and a page is one
 * backward range scan.
 * - `ix_orders_status (status, id, client_id)`: the orders in one status, every client's
 *   (`orders.admin`) or one client's (its `client_id` is read from the index entry, so another
 *   client's orders are skipped without reading their rows). It replaces `ix_orders_status_updated
 *   (status, updated_at)`, which served only the stalled-order sweep and the in-flight counts (both read
 *   the few rows of in-flight statuses, which this index finds as well) and had to move its entry at
 *   every update of an order; this one moves only when the status does. A `(client_id, status, id)`
 *   index would find one client's orders in a status more directly, but it too moves at every status
 *   change: measured, the saga's writes and the intake's p95 paid for it (docs/benchmarks.md).
 * - A client's orders in any status: one scan of this index per status, merged (there is no index led
 *   by `client_id`: migration 1765200000000).
 * - `ix_orders_customer` becomes `(customer_id, id)` (was `(customer_id, created_at)`, read by nothing):
 *   a customer's orders, newest first.
 * - `ix_customers_client_email (client_id, email)`: a client's customers with an email (the column's
 *   case-insensitive collation compares it); `ix_customers_email` serves `orders.admin`.
 */
export class OrderListing1765300000000 extends sqlMigration(
  'OrderListing1765300000000',
  [
    `ALTER TABLE orders ADD KEY ix_orders_status (status, id, client_id), DROP KEY ix_orders_status_updated,
       DROP KEY ix_orders_customer, ADD KEY ix_orders_customer (customer_id, id)`,
    'ALTER TABLE customers ADD KEY ix_customers_client_email (client_id, email)',
  ],
  [
    'ALTER TABLE customers DROP KEY ix_customers_client_email',
    `ALTER TABLE orders DROP KEY ix_orders_status, ADD KEY ix_orders_status_updated (status, updated_at),
       DROP KEY ix_orders_customer, ADD KEY ix_orders_customer (customer_id, created_at)`,
  ],
) {}
