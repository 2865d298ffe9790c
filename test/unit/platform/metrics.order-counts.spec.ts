import { ORDER_STATUSES, type OrderStatus } from '../../../src/contracts/order-status.js';
import { COUNT_BY_STATUS, OrderStatusCounts, type Query } from '../../../src/platform/observability/metrics.order-counts.js';

/** The orders table as the counter's statement sees it. */
class FakeOrders {
  readonly orders = new Map<string, OrderStatus>();
  /** Statements run so far. */
  reads = 0;

  readonly query: Query = async (sql) => {
    if (sql !== COUNT_BY_STATUS) throw new Error(`unexpected statement: ${sql}`);
    this.reads += 1;
    const snapshot = [...this.orders.values()];
    await Promise.resolve();
    const counts = new Map<OrderStatus, number>();
    for (const s of snapshot) counts.set(s, (counts.get(s) ?? 0) + 1);
    return [...counts].map(([status, n]) => ({ status, n: String(n) }));
  };

  /** Every status with its number of orders, 0 when none. */
  expected(): Map<OrderStatus, number> {
    const counts = new Map<OrderStatus, number>(ORDER_STATUSES.map((s) => [s, 0]));
    for (const status of this.orders.values()) counts.set(status, counts.get(status)! + 1);
    return counts;
  }

  add(prefix: string, n: number, status: OrderStatus): void {
    for (let i = 0; i < n; i++) this.orders.set(`${prefix}-${i}`, status);
  }
}

describe('OrderStatusCounts (the order_flow_orders gauge)', () => {
  let db: FakeOrders;
  let counts: OrderStatusCounts;

  beforeEach(() => {
    db = new FakeOrders();
    counts = new OrderStatusCounts(db.query);
  });

  it('gives every status, 0 when none, as numbers', async () => {
    db.add('a', 3, 'SHIPPED');
    db.add('b', 2, 'PAYMENT_FAILED');
    db.add('c', 1, 'RECEIVED');
    const read = await counts.read();
    expect(read).toEqual(db.expected());
    expect(read.get('SHIPPED')).toBe(3);
    expect(read.get('SHIPPING_FAILED')).toBe(0);
    expect(read.size).toBe(ORDER_STATUSES.length);
  });

  it('reads the table at each scrape, so an order that moves on shows at the next one', async () => {
    db.add('a', 2, 'RECEIVED');
    expect((await counts.read()).get('RECEIVED')).toBe(2);
    db.orders.set('a-0', 'SHIPPED');
    const read = await counts.read();
    expect(read.get('RECEIVED')).toBe(1);
    expect(read.get('SHIPPED')).toBe(1);
    expect(db.reads).toBe(2);
  });

  it('lets scrapes that arrive during a count share it', async () => {
    db.add('a', 4, 'SHIPPED');
    const [one, two] = await Promise.all([counts.read(), counts.read()]);
    expect(one).toEqual(db.expected());
    expect(two).toBe(one);
    expect(db.reads).toBe(1);
  });

  it('counts again after a failed read instead of keeping the failure', async () => {
    let down = true;
    const flaky = new OrderStatusCounts((sql, params) => (down ? Promise.reject(new Error('database down')) : db.query(sql, params)));
    await expect(flaky.read()).rejects.toThrow('database down');
    down = false;
    db.add('a', 1, 'CANCELLED');
    expect((await flaky.read()).get('CANCELLED')).toBe(1);
  });
});
