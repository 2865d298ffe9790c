import { createConnection } from 'mysql2/promise';
import request from 'supertest';
import { eventually } from '../../support/eventually.js';
import { sample } from '../../support/metrics-text.js';
import { createProduct, placeOrder, TERMINAL, waitForStatus } from '../../support/saga-fixtures.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';
import { GROUP_TOPICS } from '../../support/topics.js';

/** The highest status history id, read before the service starts (and writes history). */
async function lastHistoryId(): Promise<number> {
  const connection = await createConnection({ uri: (process.env.DATABASE_URL ?? '').replace(/^mariadb:/, 'mysql:') });
  try {
    const [rows] = await connection.query('SELECT COALESCE(MAX(id), 0) AS id FROM order_status_history');
    return Number((rows as Array<{ id: number | string }>)[0].id);
  } finally {
    await connection.end();
  }
}

/**
 * The metrics observed as orders go through the saga (docs/architecture.md §10): one order that ships
 * and one that fails on its stock (and has its reservation released), on the whole service. The
 * process's counters start at 0 with this suite's service; orders earlier suites left in flight may
 * go through as well, hence the lower bounds.
 */
describe('metrics of orders going through the saga', () => {
  let t: TestApp;
  let historyBefore: number;
  const scrape = async () => (await request(t.url).get('/metrics').expect(200)).text;
  const value = (text: string, name: string, labels: Record<string, string>) => sample(text, name, labels) ?? 0;

  beforeAll(async () => {
    historyBefore = await lastHistoryId();
    t = await startTestApp({ env: { SAGA_SCHEDULER_INTERVAL_MS: '100' } });
    const [inStock, soldOut] = [await createProduct(t, 10, 12.5), await createProduct(t, 0, 5)];
    const shipped = await placeOrder(t, [{ productId: inStock, quantity: 1 }]);
    const failed = await placeOrder(t, [{ productId: soldOut, quantity: 1 }]);
    expect(await waitForStatus(t, shipped)).toMatchObject({ status: 'SHIPPED' });
    expect(await waitForStatus(t, failed)).toMatchObject({ status: 'INVENTORY_FAILED' });
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Scrapes until `accept` holds (the replies and commits behind a metric arrive in their own time). */
  const scrapeUntil = (accept: (text: string) => boolean, what: string) => eventually(scrape, accept, { what, timeoutMs: 20000, intervalMs: 200 });

  it('counts each terminal transition the saga committed exactly once, with the order time from creation', async () => {
    /** Terminal history rows written since the service started, by status: what the counters must match. */
    const committed = async () => {
      const rows: Array<{ status: string; n: number | string }> = await t.dataSource.query(
        `SELECT to_status AS status, COUNT(*) AS n FROM order_status_history WHERE id > ? AND to_status IN (${TERMINAL.map(() => '?').join(',')}) GROUP BY to_status`,
        [historyBefore, ...TERMINAL],
      );
      return new Map(rows.map((r) => [r.status, Number(r.n)]));
    };
    const matches = async () => {
      const [text, rows] = [await scrape(), await committed()];
      return { text, rows, same: TERMINAL.every((status) => value(text, 'order_flow_orders_finished_total', { status }) === (rows.get(status) ?? 0)) };
    };
    const { text, rows } = await eventually(matches, (m) => m.same, { what: 'the finished counters to match the terminal history rows', timeoutMs: 20000, intervalMs: 200 });
    expect(rows.get('SHIPPED')).toBeGreaterThanOrEqual(1);
    expect(rows.get('INVENTORY_FAILED')).toBeGreaterThanOrEqual(1);
    for (const status of ['SHIPPED', 'INVENTORY_FAILED']) {
      expect(value(text, 'order_flow_order_duration_seconds_count', { status })).toBe(rows.get(status));
      expect(value(text, 'order_flow_order_duration_seconds_bucket', { status, le: '+Inf' })).toBe(rows.get(status));
      expect(value(text, 'order_flow_order_duration_seconds_sum', { status })).toBeGreaterThan(0);
    }
    // Terminal statuses are the counters' business; the gauge counts the statuses in flight.
    expect(sample(text, 'order_flow_orders', { status: 'SHIPPED' })).toBeUndefined();
    expect(sample(text, 'order_flow_orders', { status: 'RECEIVED' })).toBeGreaterThanOrEqual(0);
  });

  it('times each saga step attempt from its command to its reply, by step and outcome', async () => {
    const text = await scrapeUntil((s) => value(s, 'order_flow_saga_step_duration_seconds_count', { step: 'release', outcome: 'succeeded' }) >= 1, 'the release answered');
    for (const step of ['inventory', 'payment', 'shipping']) {
      expect(value(text, 'order_flow_saga_step_duration_seconds_count', { step, outcome: 'succeeded' })).toBeGreaterThanOrEqual(1);
    }
    expect(value(text, 'order_flow_saga_step_duration_seconds_count', { step: 'inventory', outcome: 'failed' })).toBeGreaterThanOrEqual(1);
    expect(value(text, 'order_flow_saga_step_duration_seconds_bucket', { step: 'inventory', outcome: 'failed', le: '+Inf' })).toBeGreaterThanOrEqual(1);
  });

  it('times every message each consumer group handled, by group, topic and outcome', async () => {
    const text = await scrapeUntil(
      (s) => value(s, 'order_flow_message_handling_duration_seconds_count', { group: 'order-flow-process', topic: 'shipping-updates', outcome: 'ignored' }) >= 1,
      'the saga passing over its own shipping command',
    );
    const handled = (group: string, topic: string, outcome: string) => value(text, 'order_flow_message_handling_duration_seconds_count', { group, topic, outcome });
    expect(handled('order-flow-intake', 'orders-in', 'processed')).toBeGreaterThanOrEqual(2);
    expect(handled('order-flow-inventory', 'inventory-requests', 'processed')).toBeGreaterThanOrEqual(3); // two reservations, a release
    expect(handled('order-flow-payment', 'payment-requests', 'processed')).toBeGreaterThanOrEqual(1);
    expect(handled('order-flow-process', 'inventory-replies', 'processed')).toBeGreaterThanOrEqual(3);
    expect(
      sample(text, 'order_flow_message_handling_duration_seconds_bucket', { group: 'order-flow-intake', topic: 'orders-in', outcome: 'processed', le: '+Inf' }),
    ).toBeGreaterThanOrEqual(2);
  });

  it('times the relay sends to Kafka, and declares its failures counter', async () => {
    const text = await scrape();
    expect(value(text, 'order_flow_outbox_publish_duration_seconds_count', {})).toBeGreaterThanOrEqual(1);
    expect(text).toContain('# TYPE order_flow_outbox_publish_failures_total counter');
    expect(sample(text, 'order_flow_outbox_oldest_unpublished_age_seconds', {})).toBeGreaterThanOrEqual(0);
  });

  it('shows each consumer group up, with the joins it went through', async () => {
    const text = await scrape();
    for (const group of Object.keys(GROUP_TOPICS)) {
      expect(sample(text, 'order_flow_kafka_consumer_group_up', { group })).toBe(1);
      expect(sample(text, 'order_flow_kafka_consumer_rebalances_total', { group })).toBeGreaterThanOrEqual(1);
    }
    expect(sample(text, 'order_flow_orders_overdue', {})).toBeGreaterThanOrEqual(0);
  });
});
