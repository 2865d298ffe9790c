import { ORDER_STATUSES, TERMINAL_STATUSES, type OrderStatus } from '../../contracts/order-status.js';
import { placeholders } from '../database/sql-batch.js';

/** Runs one SQL statement with bound parameters and returns its rows. */
export type Query = (sql: string, params?: unknown[]) => Promise<Array<Record<string, unknown>>>;

/** The statuses an order passes through: the only ones `order_flow_orders` counts. */
export const IN_FLIGHT_STATUSES: readonly OrderStatus[] = ORDER_STATUSES.filter((s) => !TERMINAL_STATUSES.has(s));

/**
 * Orders by status, cheaply at every scrape (docs/architecture.md §10):
 *
 * - orders in flight are counted live through the status index, which reads only their rows: as many
 *   as the saga is working on, however many orders were ever taken;
 * - terminal statuses are not counted here: a terminal status is final, so the saga counts each
 *   order once as it commits the transition (`order_flow_orders_finished_total`), at no query.
 *
 * Every in-flight status has a series (0 when none). Each replica reads the same database: take
 * `max by (status)` across replicas, and `sum` of the finished counters.
 */
export async function countOrdersInFlight(query: Query): Promise<Map<OrderStatus, number>> {
  const counts = new Map(IN_FLIGHT_STATUSES.map((s) => [s, 0]));
  const rows = await query(`SELECT status, COUNT(*) AS n FROM orders WHERE status IN (${placeholders(IN_FLIGHT_STATUSES)}) GROUP BY status`, [...IN_FLIGHT_STATUSES]);
  for (const r of rows) counts.set(r.status as OrderStatus, Number(r.n));
  return counts;
}

/**
 * Orders in flight whose current saga step is past its deadline (or backoff) and not yet moved on:
 * through the saga_steps (state, due_at) index, which reads only the overdue rows, and their orders by
 * primary key. A compensation of an order that has already failed is not counted.
 */
export async function countOverdueOrders(query: Query): Promise<number> {
  const [row] = await query(
    `SELECT COUNT(DISTINCT s.order_id) AS n FROM saga_steps s STRAIGHT_JOIN orders o ON o.id = s.order_id
      WHERE s.state IN ('WAITING', 'RETRY') AND s.due_at <= UTC_TIMESTAMP(3) AND o.status IN (${placeholders(IN_FLIGHT_STATUSES)})`,
    [...IN_FLIGHT_STATUSES],
  );
  return Number(row?.n ?? 0);
}
