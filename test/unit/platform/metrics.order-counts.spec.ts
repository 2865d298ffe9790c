import { ORDER_STATUSES, type OrderStatus } from '../../../src/contracts/order-status.js';
import { OrderStatusCounts, type Query } from '../../../src/platform/observability/metrics.order-counts.js';

/**
 * The orders and order_status_history tables as the counter's four statements see them: only
 * committed rows are visible, and a row may commit after one with a higher id.
 */
class FakeTables {
  readonly orders = new Map<string, OrderStatus>();
  readonly history: Array<{ id: number; orderId: string; to: OrderStatus; committed: boolean }> = [];
  /** The `from` of every count of history rows since the baseline (the part each scrape reads). */
  readonly scannedFrom: number[] = [];
  /** Scrapes that read the whole status index. */
  fullCounts = 0;
  private nextId = 1;

  /** An order's transition and its history row, committed now or (`committed: false`) later. */
  transition(orderId: string, to: OrderStatus, committed = true): { commit: () => void } {
    const row = { id: this.nextId++, orderId, to, committed: false };
    this.history.push(row);
    const commit = () => {
      row.committed = true;
      this.orders.set(orderId, to);
    };
    if (committed) commit();
    return { commit };
  }

  /** As after the tables were emptied and their counters reset. */
  resetIds(): void {
    this.nextId = 1;
  }

  /** What a full `GROUP BY status` over the orders table would say. */
  naive(): Map<OrderStatus, number> {
    const counts = new Map<OrderStatus, number>(ORDER_STATUSES.map((s) => [s, 0]));
    for (const status of this.orders.values()) counts.set(status, counts.get(status)! + 1);
    return counts;
  }

  readonly query: Query = async (sql, params = []) => {
    await Promise.resolve();
    const visible = this.history.filter((r) => r.committed);
    if (sql.startsWith('SELECT COALESCE(MAX(id), 0) AS high')) return [{ high: Math.max(0, ...visible.map((r) => r.id)) }];
    if (sql.includes('FROM order_status_history')) {
      const bounded = sql.includes('id <= ?');
      const [from, to] = [Number(params[0]), bounded ? Number(params[1]) : Infinity];
      const statuses = new Set(params.slice(bounded ? 2 : 1) as OrderStatus[]);
      if (!bounded) this.scannedFrom.push(from);
      return countBy(visible.filter((r) => r.id > from && r.id <= to && statuses.has(r.to)).map((r) => r.to));
    }
    if (sql === 'SELECT status, COUNT(*) AS n FROM orders GROUP BY status') {
      this.fullCounts += 1;
      return countBy([...this.orders.values()]);
    }
    if (sql.includes('FROM orders WHERE status IN')) {
      const statuses = new Set(params as OrderStatus[]);
      return countBy([...this.orders.values()].filter((s) => statuses.has(s)));
    }
    throw new Error(`unexpected statement: ${sql}`);
  };
}

function countBy(statuses: OrderStatus[]): Array<{ status: OrderStatus; n: number }> {
  const counts = new Map<OrderStatus, number>();
  for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts].map(([status, n]) => ({ status, n }));
}

/** Takes `n` new orders through RECEIVED → … → `to`. */
function finish(db: FakeTables, prefix: string, n: number, to: OrderStatus): void {
  for (let i = 0; i < n; i++) {
    db.transition(`${prefix}-${i}`, 'RECEIVED');
    db.transition(`${prefix}-${i}`, 'INVENTORY_CHECK_STARTED');
    db.transition(`${prefix}-${i}`, to);
  }
}

describe('OrderStatusCounts (the order_flow_orders gauge)', () => {
  const SETTLE = 120_000;
  let db: FakeTables;
  let clock: number;
  let counts: OrderStatusCounts;
  /** Times the clock gives before it falls back to `clock`, one per reading. */
  let ticks: number[];

  /** Reads the counts: SHIPPED is `n`, and every status is as a full count of the orders says. */
  async function expectShipped(n: number): Promise<void> {
    const read = await counts.read();
    expect(read.get('SHIPPED')).toBe(n);
    expect(read).toEqual(db.naive());
  }

  beforeEach(() => {
    db = new FakeTables();
    clock = 1_000_000;
    ticks = [];
    counts = new OrderStatusCounts(db.query, SETTLE, () => ticks.shift() ?? clock);
  });

  it('gives every status, 0 when none, as a full count of the orders would', async () => {
    finish(db, 'a', 3, 'SHIPPED');
    finish(db, 'b', 2, 'PAYMENT_FAILED');
    db.transition('c-0', 'RECEIVED');
    const read = await counts.read();
    expect(read).toEqual(db.naive());
    expect(read.get('SHIPPED')).toBe(3);
    expect(read.get('SHIPPING_FAILED')).toBe(0);
    expect(read.size).toBe(ORDER_STATUSES.length);
  });

  it('stays exact as the baseline moves on, and then reads only the history after it', async () => {
    finish(db, 'a', 4, 'SHIPPED');
    expect(await counts.read()).toEqual(db.naive());
    for (let round = 0; round < 6; round++) {
      clock += 50_000;
      finish(db, `r${round}`, 3, round % 2 ? 'SHIPPED' : 'INVENTORY_FAILED');
      db.transition(`w${round}`, 'RECEIVED');
      expect(await counts.read()).toEqual(db.naive());
    }
    // The whole index is read only in the first settle period; after it, a scrape counts the history
    // from the baseline on, which moves with time.
    expect(db.fullCounts).toBe(3);
    expect(Math.min(...db.scannedFrom)).toBeGreaterThan(0);
    expect(db.scannedFrom.at(-1)).toBeGreaterThan(30);
  });

  it('counts a terminal row that commits after a higher id was already counted', async () => {
    finish(db, 'a', 2, 'SHIPPED');
    await counts.read();
    clock += SETTLE;
    await counts.read();
    expect(db.fullCounts).toBe(1);
    db.transition('late', 'RECEIVED');
    const late = db.transition('late', 'SHIPPED', false);
    finish(db, 'b', 2, 'SHIPPED');
    expect((await counts.read()).get('SHIPPED')).toBe(4);
    clock += SETTLE / 2;
    await counts.read();
    late.commit();
    // Another transaction is open when that high settles: the baseline must stop below its row.
    db.transition('later', 'RECEIVED');
    const later = db.transition('later', 'SHIPPED', false);
    finish(db, 'c', 1, 'SHIPPED');
    clock += SETTLE / 2;
    expect((await counts.read()).get('SHIPPED')).toBe(6);
    later.commit();
    expect((await counts.read()).get('SHIPPED')).toBe(7);
    clock += SETTLE;
    await expectShipped(7);
  });

  it('starts over when the history is shorter than its baseline (a restored or emptied database)', async () => {
    finish(db, 'a', 5, 'SHIPPED');
    await counts.read();
    clock += SETTLE;
    expect((await counts.read()).get('SHIPPED')).toBe(5);
    db.orders.clear();
    db.history.length = 0;
    db.resetIds();
    finish(db, 'b', 1, 'SHIPPED');
    await expectShipped(1);
  });

  it('does not add a settled range twice when two scrapes run at once', async () => {
    finish(db, 'a', 3, 'SHIPPED');
    await counts.read();
    clock += 10;
    finish(db, 'b', 1, 'SHIPPED');
    await counts.read();
    // Scrape one settles the first high and is still reading when scrape two, 10 ms later, settles
    // the second: both started from the same baseline.
    const start = clock - 10;
    ticks.push(start + SETTLE, start + SETTLE + 10);
    const [one, two] = await Promise.all([counts.read(), counts.read()]);
    expect(one.get('SHIPPED')).toBe(4);
    expect(two.get('SHIPPED')).toBe(4);
    clock = start + 3 * SETTLE;
    await expectShipped(4);
  });
  it('before the first baseline, reads the whole index at most once per 30 s and stays exact in between', async () => {
    finish(db, 'a', 3, 'SHIPPED');
    for (let t = 0; t < SETTLE; t += 5_000) {
      clock = 1_000_000 + t;
      finish(db, `t${t}`, 1, t % 10_000 ? 'SHIPPED' : 'PAYMENT_FAILED');
      db.transition(`w${t}`, 'RECEIVED');
      expect(await counts.read()).toEqual(db.naive());
    }
    // 24 scrapes in the first two minutes: a full count at 0, 30, 60 and 90 s, the history after it between.
    expect(db.fullCounts).toBe(4);
    expect(Math.min(...db.scannedFrom)).toBeGreaterThan(0);
  });

  it('before the first baseline, counts a terminal row that commits after the full count once the count is redone', async () => {
    finish(db, 'a', 2, 'SHIPPED');
    db.transition('late', 'RECEIVED');
    const late = db.transition('late', 'SHIPPED', false);
    finish(db, 'b', 1, 'SHIPPED');
    expect((await counts.read()).get('SHIPPED')).toBe(3);
    late.commit();
    clock += 29_000;
    // Its id is below the one read after the full count: missed until the count is redone.
    expect((await counts.read()).get('SHIPPED')).toBe(3);
    clock += 1_000;
    await expectShipped(4);
    expect(db.fullCounts).toBe(2);
  });

  it('drops the full count when the history is shorter than the id read after it', async () => {
    finish(db, 'a', 4, 'SHIPPED');
    expect((await counts.read()).get('SHIPPED')).toBe(4);
    db.orders.clear();
    db.history.length = 0;
    db.resetIds();
    finish(db, 'b', 1, 'SHIPPED');
    clock += 1_000;
    await expectShipped(1);
  });
});
