import { ORDER_STATUSES, TERMINAL_STATUSES, type OrderStatus } from '../../contracts/order-status.js';
import { placeholders } from '../database/sql-batch.js';

/** Runs one SQL statement with bound parameters and returns its rows. */
export type Query = (sql: string, params?: unknown[]) => Promise<Array<Record<string, unknown>>>;

const IN_FLIGHT = ORDER_STATUSES.filter((s) => !TERMINAL_STATUSES.has(s));
const TERMINAL = ORDER_STATUSES.filter((s) => TERMINAL_STATUSES.has(s));

/**
 * How long after a history id was the highest every row up to it has surely committed or rolled
 * back: two of MariaDB's default lock-wait timeouts (50 s), and our transactions take milliseconds.
 */
export const HISTORY_SETTLE_MS = 120_000;

/** Until the first baseline settles, a full count of the orders is reused for this long. */
export const PROVISIONAL_MAX_AGE_MS = 30_000;

/**
 * Orders by status for the `order_flow_orders` gauge, at a cost per scrape that does not grow with
 * the number of orders ever taken. `SELECT status, COUNT(*) FROM orders GROUP BY status` reads the
 * whole status index at every scrape, in competition with the orders being taken
 * (docs/benchmarks.md, "What grows with the database").
 *
 * - Orders in flight (not in a terminal status) are counted live through the status index, which
 *   reads only their rows.
 * - A terminal status is final, and an order enters one exactly once, with a history row in the same
 *   transaction. So terminal counts only grow, by the terminal rows appended to
 *   order_status_history. Rows up to a baseline id are summed once; each scrape counts those after.
 * - The baseline moves only to a history id that was the highest {@link HISTORY_SETTLE_MS} earlier:
 *   ids are handed out at insert and rows appear at commit, so a lower id can appear after a higher
 *   one has been counted; by then every transaction that held one has ended.
 *
 * Until the first baseline is set (one settle period after start) a full count of the status index
 * stands in for it, with the history id read right after it: rows above that id were not in the count
 * (they were not visible yet), and each scrape adds them. A terminal row with a lower id that commits
 * after the count is missed until the count is redone, at most {@link PROVISIONAL_MAX_AGE_MS} later.
 * Reusing the count spares the scrapes of the first minutes after a restart a scan of the index
 * each. Setting the baseline reads the history once.
 */
export class OrderStatusCounts {
  /** The history id the baseline counts up to; null until the first one settles. */
  private baselineId: number | null = null;
  private readonly baseline = new Map<OrderStatus, number>();
  /** The highest history id seen at each scrape since the baseline, oldest first. */
  private readonly highs: Array<{ at: number; id: number }> = [];
  /** Until the first baseline: a full count, and the highest history id read right after it. */
  private provisional: { at: number; id: number; counts: Map<OrderStatus, number> } | null = null;

  constructor(
    private readonly query: Query,
    private readonly settleMs = HISTORY_SETTLE_MS,
    private readonly now: () => number = Date.now,
    private readonly provisionalMaxAgeMs = PROVISIONAL_MAX_AGE_MS,
  ) {}

  /** Every status with its number of orders (0 when none). */
  async read(): Promise<Map<OrderStatus, number>> {
    const at = this.now();
    const high = await this.highestHistoryId();
    await this.settle(high, at);
    const base = this.baselineId !== null ? { id: this.baselineId, counts: this.baseline } : await this.provisionalBase(at);
    const counts = zeroed();
    for (const status of TERMINAL) counts.set(status, base.counts.get(status) ?? 0);
    for (const [status, n] of await this.terminalRows(base.id)) counts.set(status, counts.get(status)! + n);
    const inFlight = await this.query(`SELECT status, COUNT(*) AS n FROM orders WHERE status IN (${placeholders(IN_FLIGHT)}) GROUP BY status`, IN_FLIGHT);
    for (const r of inFlight) counts.set(r.status as OrderStatus, Number(r.n));
    return counts;
  }

  /** Records this scrape's highest id, and folds the rows up to the newest settled one into the baseline. */
  private async settle(high: number, at: number): Promise<void> {
    if (high < (this.baselineId ?? this.provisional?.id ?? 0)) {
      // The history is not the one the baseline was summed from (a restored or emptied database).
      this.baselineId = null;
      this.baseline.clear();
      this.highs.length = 0;
      this.provisional = null;
    }
    this.highs.push({ at, id: high });
    let settled: number | undefined;
    while (this.highs.length && at - this.highs[0].at >= this.settleMs) settled = this.highs.shift()!.id;
    const from = this.baselineId;
    if (settled === undefined || (from !== null && settled <= from)) return;
    const rows = await this.terminalRows(from ?? 0, settled);
    // Another scrape running at the same time may have moved the baseline while this one read.
    if (this.baselineId !== from) return;
    for (const [status, n] of rows) this.baseline.set(status, (this.baseline.get(status) ?? 0) + n);
    this.baselineId = settled;
    this.provisional = null;
  }

  /** The full count standing in for the baseline, redone when older than PROVISIONAL_MAX_AGE_MS. */
  private async provisionalBase(at: number): Promise<{ id: number; counts: Map<OrderStatus, number> }> {
    if (this.provisional && at - this.provisional.at < this.provisionalMaxAgeMs) return this.provisional;
    const counts = await this.countAll();
    // Read after the count: a row above this id was not visible to it, so it is counted once, after.
    const provisional = { at, id: await this.highestHistoryId(), counts };
    if (this.baselineId === null) this.provisional = provisional;
    return provisional;
  }

  private async highestHistoryId(): Promise<number> {
    const [{ high }] = await this.query('SELECT COALESCE(MAX(id), 0) AS high FROM order_status_history');
    return Number(high);
  }

  /** One pass over the orders' status index. */
  private async countAll(): Promise<Map<OrderStatus, number>> {
    const counts = zeroed();
    for (const r of await this.query('SELECT status, COUNT(*) AS n FROM orders GROUP BY status')) counts.set(r.status as OrderStatus, Number(r.n));
    return counts;
  }

  /** Terminal history rows by status with `from < id` (and `id <= to`), through the primary key. */
  private async terminalRows(from: number, to?: number): Promise<Array<[OrderStatus, number]>> {
    const rows = await this.query(
      `SELECT to_status AS status, COUNT(*) AS n FROM order_status_history
       WHERE id > ?${to === undefined ? '' : ' AND id <= ?'} AND to_status IN (${placeholders(TERMINAL)}) GROUP BY to_status`,
      [from, ...(to === undefined ? [] : [to]), ...TERMINAL],
    );
    return rows.map((r) => [r.status as OrderStatus, Number(r.n)]);
  }
}

/** Every status at 0. */
function zeroed(): Map<OrderStatus, number> {
  return new Map(ORDER_STATUSES.map((s) => [s, 0]));
}
