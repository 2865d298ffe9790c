import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { DataSource } from 'typeorm';
import { parseDatabaseUrl } from '../../../src/config/database.config.js';
import { buildDataSourceOptions } from '../../../src/platform/database/database-options.js';
import { takeStockBaseline } from '../../../src/platform/invariants/database.checks.js';
import { checkDlq, countTopicMessages } from '../../../src/platform/invariants/dlq.check.js';
import { checkInvariants, exitCodeOf, type CheckOptions } from '../../../src/platform/invariants/invariant-checker.js';
import type { InvariantId, Violation } from '../../../src/platform/invariants/invariants.js';
import type { DeadLetter } from '../../../src/platform/messaging/dead-letters.js';
import { MetricsService } from '../../../src/platform/observability/metrics.service.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');

/** An order as the saga would leave it, written straight into the tables the checker reads. */
interface SeededOrder {
  status: string;
  items?: Array<[productId: string, quantity: number]>;
  lines?: Array<[productId: string, quantity: number, status: string]>;
  payments?: string[];
  shipments?: string[];
}

/** The checker CLI as an operator runs it (`npm run check:invariants`), built by scripts/test.mjs. */
function cli(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'cli', 'check-invariants.js'), ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'error', ...env },
    encoding: 'utf8',
    timeout: 60000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/**
 * The invariant checker against the real test database and broker: each kind of violation, seeded
 * on orders and products of the test's own, is reported with the orders involved; a consistent set
 * of orders in every terminal status is clean.
 */
describe('invariant checker (real MariaDB and Kafka)', () => {
  let ds: DataSource;
  let kafka: Kafka;

  beforeAll(async () => {
    ds = new DataSource({ ...buildDataSourceOptions({ ...parseDatabaseUrl(process.env.DATABASE_URL as string), poolSize: 4 }), logging: ['error'] });
    await ds.initialize();
    kafka = new Kafka({ clientId: 'test-invariants', brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(','), logLevel: logLevel.NOTHING });
  });
  afterAll(async () => {
    await ds?.destroy();
  });

  async function product(onHand: number, reserved = 0): Promise<string> {
    const id = `INV-${randomUUID().slice(0, 12)}`;
    await ds.query('INSERT INTO products (product_id, name, unit_price, currency, stock_on_hand, stock_reserved) VALUES (?, ?, 10, ?, ?, ?)', [
      id,
      `Checker ${id}`,
      'EUR',
      onHand,
      reserved,
    ]);
    return id;
  }

  async function seed(o: SeededOrder): Promise<string> {
    const id = randomUUID();
    await ds.query(
      `INSERT INTO orders (id, customer_id, status, currency, ship_line1, ship_city, ship_postal_code, ship_country, correlation_id, created_at, updated_at)
       VALUES (?, ?, ?, 'EUR', '1 Main St', 'Paris', '75001', 'FR', ?, NOW(3), NOW(3))`,
      [id, randomUUID(), o.status, `corr-${id}`],
    );
    for (const [i, [productId, quantity]] of (o.items ?? []).entries()) {
      await ds.query('INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price) VALUES (?, ?, ?, ?, 10)', [id, i + 1, productId, quantity]);
    }
    for (const [productId, quantity, status] of o.lines ?? []) {
      await ds.query('INSERT INTO stock_reservations (order_id, product_id, quantity, unit_price, status) VALUES (?, ?, ?, 10, ?)', [id, productId, quantity, status]);
    }
    for (const status of o.payments ?? []) {
      await ds.query(`INSERT INTO payments (id, order_id, customer_id, amount, currency, status) VALUES (?, ?, 'c', 20, 'EUR', ?)`, [randomUUID(), id, status]);
    }
    for (const status of o.shipments ?? []) {
      await ds.query(`INSERT INTO shipments (id, order_id, carrier, tracking_number, status, estimated_delivery) VALUES (?, ?, 'DHL', ?, ?, NOW(3))`, [
        randomUUID(),
        id,
        `SHIP-${randomUUID().slice(0, 18)}`,
        status,
      ]);
    }
    return id;
  }

  /** A SHIPPED order as it must end: its units committed (on hand already lowered by the caller's stock), one charge, delivered. */
  const shipped = (productId: string, quantity: number) =>
    seed({ status: 'SHIPPED', items: [[productId, quantity]], lines: [[productId, quantity, 'COMMITTED']], payments: ['CHARGED'], shipments: ['DELIVERED'] });

  const check = (orderIds: string[], options: CheckOptions = {}) => checkInvariants(ds, { orderIds, ...options });
  const of = (violations: Violation[], invariant: InvariantId) => violations.filter((v) => v.invariant === invariant);
  /** Violations in a fixed order (the checker lists them by invariant, then as the database returns them). */
  const sorted = (violations: Violation[]) =>
    [...violations].sort((a, b) => `${a.invariant} ${a.orderIds[0]} ${a.detail}`.localeCompare(`${b.invariant} ${b.orderIds[0]} ${b.detail}`));
  const ids = (violations: Violation[], invariant: InvariantId) =>
    of(violations, invariant)
      .flatMap((v) => v.orderIds)
      .sort();

  it('a consistent order in every terminal status: no violation, I1–I5 checked', async () => {
    const p = await product(8);
    const orders = [
      await shipped(p, 2),
      await seed({ status: 'INVENTORY_FAILED', items: [[p, 50]] }),
      await seed({ status: 'PAYMENT_FAILED', items: [[p, 1]], lines: [[p, 1, 'RELEASED']], payments: ['DECLINED'] }),
      // A shipment cancelled by the compensation is not live.
      await seed({ status: 'SHIPPING_FAILED', items: [[p, 1]], lines: [[p, 1, 'RELEASED']], payments: ['REFUNDED'], shipments: ['CANCELLED'] }),
      await seed({ status: 'SHIPPING_FAILED', items: [[p, 1]], lines: [[p, 1, 'RELEASED']], payments: ['REFUNDED'], shipments: ['FAILED'] }),
      await seed({ status: 'CANCELLED', items: [[p, 1]], lines: [[p, 1, 'RELEASED']] }),
    ];
    const report = await check(orders, { stock: true });
    expect(report.violations).toEqual([]);
    expect(report.checked).toEqual(['I1', 'I2', 'I3', 'I4', 'I5']);
    expect(report.orders).toBe(orders.length);
    expect(exitCodeOf(report)).toBe(0);
    // Not asked for: reported as such, not as failures.
    expect(report.notChecked).toEqual([
      { invariant: 'I6', failed: false, reason: expect.any(String) },
      { invariant: 'I7', failed: false, reason: expect.any(String) },
    ]);
  });

  it('I1: a non-terminal order and a named order that does not exist', async () => {
    const p = await product(10, 1);
    const waiting = await seed({ status: 'INVENTORY_CONFIRMED', items: [[p, 1]], lines: [[p, 1, 'RESERVED']] });
    const done = await shipped(await product(0), 1);
    const lost = randomUUID();
    const report = await check([waiting, done, lost]);
    expect(sorted(of(report.violations, 'I1'))).toEqual(
      sorted([
        { invariant: 'I1', orderIds: [waiting], detail: '1 order(s) still INVENTORY_CONFIRMED' },
        { invariant: 'I1', orderIds: [lost], detail: '1 order(s) not found' },
      ]),
    );
    expect(report.violations.filter((v) => v.invariant !== 'I1')).toEqual([]);
    expect(exitCodeOf(report)).toBe(1);
  });

  it('I1 with a wait: re-checks until the order is terminal and its compensation done', async () => {
    const p = await product(10, 1);
    const id = await seed({ status: 'SHIPPING_REQUESTED', items: [[p, 1]], lines: [[p, 1, 'RESERVED']], payments: ['CHARGED'] });
    expect(ids((await check([id])).violations, 'I1')).toEqual([id]);

    // The saga gives up, then its compensations land one after the other.
    const compensate = (async () => {
      await new Promise((r) => setTimeout(r, 300));
      await ds.query(`UPDATE orders SET status = 'SHIPPING_FAILED' WHERE id = ?`, [id]);
      await new Promise((r) => setTimeout(r, 300));
      await ds.query(`UPDATE payments SET status = 'REFUNDED' WHERE order_id = ?`, [id]);
      await new Promise((r) => setTimeout(r, 300));
      await ds.query(`UPDATE stock_reservations SET status = 'RELEASED' WHERE order_id = ?`, [id]);
      await ds.query('UPDATE products SET stock_reserved = 0 WHERE product_id = ?', [p]);
    })();
    const report = await check([id], { waitS: 20, pollIntervalMs: 100, stock: true });
    await compensate;
    expect(report.violations).toEqual([]);
    expect(report.rounds).toBeGreaterThan(2);
    expect(report.elapsedMs).toBeGreaterThanOrEqual(800);

    // A wait that runs out reports what is still wrong.
    const stuck = await seed({ status: 'RECEIVED' });
    const late = await check([stuck], { waitS: 1, pollIntervalMs: 200 });
    expect(ids(late.violations, 'I1')).toEqual([stuck]);
    expect(late.elapsedMs).toBeGreaterThanOrEqual(1000);
    expect(late.rounds).toBeGreaterThan(1);
  });

  it('I2: a SHIPPED order without its shipment, charge or committed stock, and committed stock or a shipment where nothing shipped', async () => {
    const p = await product(100);
    const q = await product(100);
    const noShipment = await seed({ status: 'SHIPPED', items: [[p, 1]], lines: [[p, 1, 'COMMITTED']], payments: ['CHARGED'] });
    const refunded = await seed({ status: 'SHIPPED', items: [[p, 1]], lines: [[p, 1, 'COMMITTED']], payments: ['REFUNDED'], shipments: ['IN_TRANSIT'] });
    const shortCommit = await seed({
      status: 'SHIPPED',
      items: [
        [p, 2],
        [q, 1],
      ],
      lines: [
        [p, 1, 'COMMITTED'],
        [q, 1, 'RESERVED'],
      ],
      payments: ['CHARGED'],
      shipments: ['DELIVERED'],
    });
    const committedButFailed = await seed({ status: 'PAYMENT_FAILED', items: [[p, 1]], lines: [[p, 1, 'COMMITTED']], payments: ['DECLINED'] });
    const shippedTooEarly = await seed({ status: 'INVENTORY_CONFIRMED', items: [[p, 1]], shipments: ['PENDING'] });
    const report = await check([noShipment, refunded, shortCommit, committedButFailed, shippedTooEarly]);
    expect(of(report.violations, 'I2')).toEqual(
      expect.arrayContaining([
        { invariant: 'I2', orderIds: [noShipment], detail: 'SHIPPED with 0 live shipment(s)' },
        { invariant: 'I2', orderIds: [refunded], detail: 'SHIPPED with 0 unrefunded charge(s)' },
        { invariant: 'I2', orderIds: [shortCommit], detail: `SHIPPED with 1 reservation line(s) not COMMITTED; ${p}: ordered 2, committed 1; ${q}: ordered 1, committed 0` },
        { invariant: 'I2', orderIds: [committedButFailed], detail: 'order PAYMENT_FAILED with 1 unit(s) of stock COMMITTED' },
        { invariant: 'I2', orderIds: [shippedTooEarly], detail: 'order INVENTORY_CONFIRMED with a shipment PENDING' },
      ]),
    );
    expect(of(report.violations, 'I2')).toHaveLength(5);
    expect(of(report.violations, 'I3')).toEqual([]);
  });

  it('I3: a failed or cancelled order still holding stock, a charge or a live shipment', async () => {
    const p = await product(10, 2);
    const reserved = await seed({ status: 'PAYMENT_FAILED', items: [[p, 2]], lines: [[p, 2, 'RESERVED']], payments: ['DECLINED'] });
    const charged = await seed({ status: 'SHIPPING_FAILED', items: [[p, 1]], lines: [[p, 1, 'RELEASED']], payments: ['CHARGED'], shipments: ['FAILED'] });
    const delivered = await seed({ status: 'CANCELLED', items: [[p, 1]], lines: [[p, 1, 'RELEASED']], payments: ['REFUNDED'], shipments: ['DELIVERED'] });
    const clean = await seed({ status: 'INVENTORY_FAILED', items: [[p, 1]] });
    const report = await check([reserved, charged, delivered, clean], { stock: true });
    expect(sorted(of(report.violations, 'I3'))).toEqual(
      sorted([
        { invariant: 'I3', orderIds: [reserved], detail: 'order PAYMENT_FAILED with 2 unit(s) still RESERVED' },
        { invariant: 'I3', orderIds: [charged], detail: 'order SHIPPING_FAILED with an unrefunded charge of 20' },
        { invariant: 'I3', orderIds: [delivered], detail: 'order CANCELLED with a shipment DELIVERED' },
      ]),
    );
    // The stock itself is consistent: the held units are counted as reserved.
    expect(report.violations.filter((v) => v.invariant !== 'I3')).toEqual([]);
  });

  it('I4: reserved stock that no reservation holds, and committed stock no shipped order took', async () => {
    const drifted = await product(10, 3);
    const holder = await seed({ status: 'RECEIVED', items: [[drifted, 1]], lines: [[drifted, 1, 'RESERVED']] });
    const leaked = await product(10);
    // Committed for an order that is not SHIPPED (I2 names the order; I4 sees the product's totals).
    const failed = await seed({ status: 'SHIPPING_FAILED', items: [[leaked, 4]], lines: [[leaked, 4, 'COMMITTED']], payments: ['REFUNDED'] });
    const report = await check([holder, failed], { stock: true });
    expect(of(report.violations, 'I4')).toEqual(
      expect.arrayContaining([
        { invariant: 'I4', orderIds: [holder], productIds: [drifted], detail: `${drifted}: stock_reserved 3 but RESERVED lines hold 1` },
        { invariant: 'I4', orderIds: [], productIds: [leaked], detail: `${leaked}: COMMITTED lines hold 4 but SHIPPED orders' items total 0` },
      ]),
    );
    expect(of(report.violations, 'I4')).toHaveLength(2);
    // Scoped to orders, stock is checked only when asked.
    const scoped = await check([holder, failed]);
    expect(of(scoped.violations, 'I4')).toEqual([]);
    expect(scoped.notChecked.map((n) => n.invariant)).toContain('I4');
  });

  it('I4 against a baseline: on hand dropped by exactly what shipped since', async () => {
    const p = await product(10);
    const baseline = await takeStockBaseline(ds);
    expect(baseline.products[p]).toEqual({ stockOnHand: 10, committed: 0, shipped: 0 });

    const order = await shipped(p, 2);
    await ds.query('UPDATE products SET stock_on_hand = 7 WHERE product_id = ?', [p]);
    const wrong = await check([order], { baseline });
    expect(of(wrong.violations, 'I4')).toEqual([
      {
        invariant: 'I4',
        orderIds: [],
        productIds: [p],
        detail: `${p}: on hand dropped by 3 since the baseline, but SHIPPED orders took 2 and COMMITTED lines grew by 2`,
      },
    ]);
    await ds.query('UPDATE products SET stock_on_hand = 8 WHERE product_id = ?', [p]);
    expect((await check([order], { baseline })).violations).toEqual([]);
  });

  describe('I5, with the unique keys dropped for the test (restored after it)', () => {
    it('two payments, two shipments or two reservation lines of one product for one order', async () => {
      const p = await product(10);
      await ds.query('ALTER TABLE payments DROP INDEX uq_payments_order');
      await ds.query('ALTER TABLE shipments DROP INDEX uq_shipments_order');
      await ds.query('ALTER TABLE stock_reservations DROP INDEX uq_reservation_line');
      let twice: string[] = [];
      try {
        twice = [
          await seed({ status: 'PAYMENT_FAILED', items: [[p, 1]], payments: ['DECLINED', 'DECLINED'] }),
          await seed({ status: 'SHIPPING_FAILED', items: [[p, 1]], shipments: ['FAILED', 'CANCELLED'] }),
          await seed({
            status: 'PAYMENT_FAILED',
            items: [[p, 1]],
            lines: [
              [p, 1, 'RELEASED'],
              [p, 1, 'RELEASED'],
            ],
          }),
        ];
        const report = await check(twice);
        expect(sorted(report.violations)).toEqual(
          sorted([
            { invariant: 'I5', orderIds: [twice[0]], detail: '2 payments for one order' },
            { invariant: 'I5', orderIds: [twice[1]], detail: '2 shipments for one order' },
            { invariant: 'I5', orderIds: [twice[2]], productIds: [p], detail: '2 reservation lines for one product' },
          ]),
        );
      } finally {
        for (const table of ['payments', 'shipments', 'stock_reservations']) for (const id of twice) await ds.query(`DELETE FROM ${table} WHERE order_id = ?`, [id]);
        await ds.query('ALTER TABLE payments ADD UNIQUE KEY uq_payments_order (order_id)');
        await ds.query('ALTER TABLE shipments ADD UNIQUE KEY uq_shipments_order (order_id)');
        await ds.query('ALTER TABLE stock_reservations ADD UNIQUE KEY uq_reservation_line (order_id, product_id)');
      }
    });

    it('an event recorded twice by one consumer group in the inbox, whatever the scope', async () => {
      const eventId = randomUUID();
      const clean = await seed({ status: 'CANCELLED' });
      expect((await check([clean])).violations).toEqual([]);
      await ds.query('ALTER TABLE processed_messages DROP PRIMARY KEY');
      try {
        await ds.query(`INSERT INTO processed_messages (consumer_group, event_id) VALUES ('order-flow-payment', ?), ('order-flow-payment', ?), ('order-flow-shipping', ?)`, [
          eventId,
          eventId,
          eventId,
        ]);
        const report = await check([clean]);
        expect(report.violations).toEqual([{ invariant: 'I5', orderIds: [], detail: `inbox: event ${eventId} recorded 2 times by order-flow-payment` }]);
      } finally {
        await ds.query('DELETE FROM processed_messages WHERE event_id = ?', [eventId]);
        await ds.query('ALTER TABLE processed_messages ADD PRIMARY KEY (consumer_group, event_id)');
      }
    });
  });

  it('--since scopes by creation time', async () => {
    const before = new Date(Date.now() - 1000);
    const stuck = await seed({ status: 'RECEIVED' });
    const report = await checkInvariants(ds, { since: before });
    expect(ids(report.violations, 'I1')).toContain(stuck);
    const later = await checkInvariants(ds, { since: new Date(Date.now() + 60000) });
    expect(later.orders).toBe(0);
    expect(ids(later.violations, 'I1')).toEqual([]);
  });

  describe('I6: the DLQ topic, counted on the real broker', () => {
    const letter = (orderId: string): DeadLetter => ({
      originTopic: 'payment-requests',
      partition: 0,
      offset: '42',
      consumerGroup: 'order-flow-payment',
      error: 'invalid envelope',
      attempts: 3,
      failedAt: new Date().toISOString(),
      key: orderId,
      headers: {},
      value: '{}',
    });

    it('empty: clean; a dead letter: reported with its order, unless allowed', async () => {
      const topic = `dlq-check-${randomUUID()}`;
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
      await admin.disconnect();
      expect(await checkDlq({ kafka, topic })).toEqual([]);
      // A topic never created holds nothing.
      expect(await checkDlq({ kafka, topic: `dlq-never-${randomUUID()}` })).toEqual([]);

      const orderId = randomUUID();
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic, messages: [{ key: orderId, value: JSON.stringify(letter(orderId)) }] });
      await producer.disconnect();
      expect(await countTopicMessages(kafka, topic)).toBe(1);

      const clean = await seed({ status: 'CANCELLED' });
      const report = await check([clean], { dlq: { kafka, topic } });
      expect(report.violations).toEqual([
        { invariant: 'I6', orderIds: [orderId], detail: expect.stringMatching(new RegExp(`^1 message\\(s\\) in ${topic}, 0 allowed \\(order-flow-payment on payment-requests`)) },
      ]);
      expect(report.checked).toContain('I6');
      expect((await check([clean], { dlq: { kafka, topic, allow: 1 } })).violations).toEqual([]);
    });

    it('Kafka unreachable: could not check', async () => {
      const nowhere = new Kafka({ clientId: 'test-nowhere', brokers: ['127.0.0.1:1'], connectionTimeout: 300, retry: { retries: 0 }, logLevel: logLevel.NOTHING });
      const report = await check([await seed({ status: 'CANCELLED' })], { dlq: { kafka: nowhere, topic: 'dlq-orders' } });
      expect(report.violations).toEqual([]);
      expect(report.notChecked).toContainEqual({ invariant: 'I6', failed: true, reason: expect.stringContaining('Kafka') });
      expect(exitCodeOf(report)).toBe(2);
    });
  });

  describe("I7: 5xx answers in the service's own /metrics", () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ layers: ['experience'], groups: [] });
    });
    afterAll(async () => {
      await t?.close();
    });

    it('2xx, 4xx and 503 pass; a 500 is reported with its route', async () => {
      const clean = await seed({ status: 'CANCELLED' });
      await t.get('/api/orders/00000000-0000-4000-8000-000000000000').expect(404);
      const metricsUrls = [`${t.url}/metrics`];
      const before = await check([clean], { metricsUrls });
      expect(before.violations).toEqual([]);
      expect(before.checked).toContain('I7');

      // The request counter the service keeps, as its HTTP middleware records an answer.
      const http = t.app.get(MetricsService).httpDuration;
      http.observe({ method: 'GET', route: '/api/orders/:orderId', status_code: '503' }, 0.01);
      expect((await check([clean], { metricsUrls })).violations).toEqual([]);
      http.observe({ method: 'POST', route: '/api/orders', status_code: '500' }, 0.01);
      http.observe({ method: 'POST', route: '/api/orders', status_code: '500' }, 0.01);
      const report = await check([clean], { metricsUrls });
      expect(report.violations).toEqual([{ invariant: 'I7', orderIds: [], detail: `${t.url}/metrics: 2 × 500 on POST /api/orders` }]);
    });

    it('a URL that serves no such counter could not be checked', async () => {
      const report = await check([await seed({ status: 'CANCELLED' })], { metricsUrls: [`${t.url}/health/live`] });
      expect(report.notChecked).toContainEqual({ invariant: 'I7', failed: true, reason: expect.stringContaining('metrics') });
      expect(exitCodeOf(report)).toBe(2);
    });
  });

  describe('the CLI (npm run check:invariants)', () => {
    it('exits 0 when clean, 1 with the order ids on a violation, 2 when it cannot check', async () => {
      const p = await product(0);
      const good = await shipped(p, 1);
      const bad = await seed({ status: 'PAYMENT_FAILED', items: [[p, 1]], payments: ['CHARGED'] });

      const clean = cli(['--orders', good, '--skip-dlq']);
      expect(clean.stderr).toBe('');
      expect(clean.stdout).toMatch(/^invariants: 0 violation\(s\) in 1 of 1 named order\(s\); checked I1 I2 I3 I5; not checked I4 I6 I7; /m);
      expect(clean.status).toBe(0);

      const dirty = cli(['--orders', `${good},${bad}`, '--skip-dlq', '--stock']);
      expect(dirty.stdout).toContain(`I3  order PAYMENT_FAILED with an unrefunded charge of 20  orders: ${bad}`);
      expect(dirty.stdout).toMatch(/^invariants: 1 violation\(s\) \(I3 1\) in 2 of 2 named order\(s\); checked I1 I2 I3 I4 I5; /m);
      expect(dirty.status).toBe(1);

      const json = cli(['--orders', bad, '--skip-dlq', '--json']);
      expect(JSON.parse(json.stdout)).toMatchObject({ violations: [{ invariant: 'I3', orderIds: [bad] }], exitCode: 1 });
      expect(json.status).toBe(1);

      const noDatabase = cli(['--orders', good, '--skip-dlq'], { DATABASE_URL: 'mariadb://root@127.0.0.1:1/order_flow_nowhere' });
      expect(noDatabase.stderr).toContain('could not check: database');
      expect(noDatabase.status).toBe(2);

      const noKafka = cli(['--orders', good], { KAFKA_BROKERS: '127.0.0.1:1' });
      expect(noKafka.stdout).toContain('I6  COULD NOT CHECK');
      expect(noKafka.status).toBe(2);

      expect(cli(['--wait-s', 'soon']).status).toBe(2);
      expect(cli(['--orders', 'not-an-id']).status).toBe(2);
    });

    it('--write-baseline writes the stock a later --baseline run compares against', async () => {
      const p = await product(5);
      const dir = mkdtempSync(path.join(tmpdir(), 'invariants-'));
      try {
        const file = path.join(dir, 'baseline.json');
        const write = cli(['--write-baseline', file]);
        expect(write.status).toBe(0);
        expect(JSON.parse(readFileSync(file, 'utf8')).products[p]).toEqual({ stockOnHand: 5, committed: 0, shipped: 0 });
        const order = await shipped(p, 1);
        await ds.query('UPDATE products SET stock_on_hand = 3 WHERE product_id = ?', [p]);
        const run = cli(['--orders', order, '--skip-dlq', '--baseline', file]);
        expect(run.stdout).toContain(`I4  ${p}: on hand dropped by 2 since the baseline, but SHIPPED orders took 1 and COMMITTED lines grew by 1`);
        expect(run.status).toBe(1);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
