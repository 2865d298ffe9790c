import { sqlMigration } from './migration.helpers.js';

/**
 * The indexes of `GET /api/orders` (docs/orders-listing.md): every listing reads newest first by id
 * (time-ordered UUIDv7), so each index ends in `id` and a page is one backward range scan.
 * - `ix_orders_client_status (client_id, status, id)`: a client's orders in one status.
 * - `ix_orders_status_id (status, id)`: every client's orders in one status (`orders.admin`). It
 *   replaces `ix_orders_status_updated (status, updated_at)`, which served only the stalled-order
 *   sweep and the in-flight counts: both read the few rows of in-flight statuses, which (status, id)
 *   finds as well, and (status, updated_at) had to move its entry at every update of an order (every
 *   saga step and shipment change), where (status, id) moves only when the status does.
 * - `ix_orders_customer` becomes `(customer_id, id)` (was `(customer_id, created_at)`, read by nothing):
 *   a customer's orders, newest first.
 * - `ix_customers_client_email (client_id, email)`: a client's customers with an email (the column's
 *   case-insensitive collation compares it); `ix_customers_email` serves `orders.admin`.
 */
export class OrderListing1765300000000 extends sqlMigration(
  'OrderListing1765300000000',
  [
    `ALTER TABLE orders ADD KEY ix_orders_client_status (client_id, status, id), ADD KEY ix_orders_status_id (status, id),
       DROP KEY ix_orders_status_updated, DROP KEY ix_orders_customer, ADD KEY ix_orders_customer (customer_id, id)`,
    'ALTER TABLE customers ADD KEY ix_customers_client_email (client_id, email)',
  ],
  [
    'ALTER TABLE customers DROP KEY ix_customers_client_email',
    `ALTER TABLE orders DROP KEY ix_orders_client_status, DROP KEY ix_orders_status_id, ADD KEY ix_orders_status_updated (status, updated_at),
       DROP KEY ix_orders_customer, ADD KEY ix_orders_customer (customer_id, created_at)`,
  ],
) {}
