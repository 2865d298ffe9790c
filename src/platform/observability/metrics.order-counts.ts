import { ORDER_STATUSES, type OrderStatus } from '../../contracts/order-status.js';

/** Runs one SQL statement with bound parameters and returns its rows. */
export type Query = (sql: string, params?: unknown[]) => Promise<Array<Record<string, unknown>>>;

/** One pass over the orders' status index (ix_orders_status_updated leads with status). */
export const COUNT_BY_STATUS = 'SELECT status, COUNT(*) AS n FROM orders GROUP BY status';

/**
 * Orders by status for the `order_flow_orders` gauge, counted at each scrape. The count reads the
 * status index, not the rows, and scrapes are seconds apart; scrapes that arrive while a count is
 * running share it instead of each reading the index again.
 */
export class OrderStatusCounts {
  private running: Promise<Map<OrderStatus, number>> | null = null;

  constructor(private readonly query: Query) {}

  /** Every status with its number of orders (0 when none). */
  read(): Promise<Map<OrderStatus, number>> {
    this.running ??= this.count().finally(() => (this.running = null));
    return this.running;
  }

  private async count(): Promise<Map<OrderStatus, number>> {
    const counts = new Map<OrderStatus, number>(ORDER_STATUSES.map((s) => [s, 0]));
    for (const r of await this.query(COUNT_BY_STATUS)) counts.set(r.status as OrderStatus, Number(r.n));
    return counts;
  }
}
