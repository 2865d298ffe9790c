import { sqlMigration } from './migration.helpers.js';

/**
 * Orders and customers belong to the OAuth client that created them (docs/security.md, Ownership).
 * - `orders.client_id`: the owner. Orders written before this migration have none (NULL): only
 *   `orders.admin` sees them, since nothing records which client created them.
 * - No index led by `client_id`: a `(client_id, id)` index gets every new order of a client at its
 *   right-hand end, a second hot page beside the primary key's, one more write on the intake's path
 *   (its POST p95 looked higher with it in single runs: docs/benchmarks.md, guard of the API work). A
 *   client's listing reads the status index instead (migration 1765300000000).
 * - `customers.client_id`: the same customer id or email under two clients is two customers, so the
 *   unique key becomes (client_id, customer_key). Existing customers keep the empty owner.
 */
export class OrderOwnership1765200000000 extends sqlMigration(
  'OrderOwnership1765200000000',
  [
    'ALTER TABLE orders ADD COLUMN client_id VARCHAR(200) NULL AFTER customer_id',
    `ALTER TABLE customers ADD COLUMN client_id VARCHAR(200) NOT NULL DEFAULT '' AFTER id,
       DROP KEY uq_customers_key, ADD UNIQUE KEY uq_customers_client_key (client_id, customer_key)`,
  ],
  ['ALTER TABLE customers DROP KEY uq_customers_client_key, ADD UNIQUE KEY uq_customers_key (customer_key), DROP COLUMN client_id', 'ALTER TABLE orders DROP COLUMN client_id'],
) {}
