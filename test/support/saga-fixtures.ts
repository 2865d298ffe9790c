import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import type { TestApp } from './test-app.js';
import { TERMINAL_STATUSES } from '../../src/contracts/order-status.js';
import { eventually } from './eventually.js';
import { GROUP_TOPICS } from './topics.js';

export const TERMINAL: string[] = [...TERMINAL_STATUSES];

/** A product of the test's own, so stock assertions never depend on other tests. */
export async function createProduct(t: TestApp, stock: number, unitPrice = 10): Promise<string> {
  const productId = `T-${randomUUID().slice(0, 12)}`;
  await t.dataSource.query('INSERT INTO products (product_id, name, unit_price, currency, stock_on_hand, stock_reserved) VALUES (?, ?, ?, ?, ?, 0)', [
    productId,
    `Test ${productId}`,
    unitPrice,
    'EUR',
    stock,
  ]);
  return productId;
}

export async function stockOf(t: TestApp, productId: string): Promise<{ onHand: number; reserved: number }> {
  const [row] = await t.dataSource.query('SELECT stock_on_hand, stock_reserved FROM products WHERE product_id = ?', [productId]);
  return {
    onHand: Number(row.stock_on_hand),
    reserved: Number(row.stock_reserved),
  };
}

export async function placeOrder(t: TestApp, items: Array<{ productId: string; quantity: number }>, headers: Record<string, string> = {}): Promise<string> {
  const res = await t.post(
    '/api/orders',
    {
      customer: {
        id: `cust-${randomUUID().slice(0, 8)}`,
        name: 'Grace Hopper',
        email: 'grace@example.com',
      },
      shippingAddress: {
        line1: '1 Navy Way',
        city: 'Arlington',
        postalCode: '22202',
        country: 'US',
      },
      items,
    },
    headers,
  );
  if (res.status !== 202) throw new Error(`POST /api/orders answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.orderId as string;
}

export async function waitForStatus(t: TestApp, orderId: string, statuses: string[] = TERMINAL, timeoutMs = 30000): Promise<{ status: string; reason?: string }> {
  const res = await eventually(
    () => t.get(`/api/orders/${orderId}/status`),
    (r) => statuses.includes(r.body?.status),
    { timeoutMs, what: `order ${orderId} to reach ${statuses.join('|')}` },
  );
  return res.body;
}

/** Waits until every consumer group of the service has committed every message of its topics. */
export async function waitForGroupsCaughtUp(timeoutMs = 30000): Promise<void> {
  const kafka = new Kafka({
    clientId: 'test-lag',
    brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(','),
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await eventually(
      async () => {
        let lag = 0;
        for (const [group, topics] of Object.entries(GROUP_TOPICS)) {
          for (const topic of topics) {
            const ends = await admin.fetchTopicOffsets(topic);
            const [committed] = await admin.fetchOffsets({
              groupId: group,
              topics: [topic],
            });
            for (const p of ends) {
              const c = committed.partitions.find((x) => x.partition === p.partition);
              const at = c && Number(c.offset) >= 0 ? Number(c.offset) : 0;
              lag += Math.max(0, Number(p.high) - at);
            }
          }
        }
        return lag;
      },
      (lag) => lag === 0,
      { timeoutMs, intervalMs: 200, what: 'every consumer group to catch up' },
    );
  } finally {
    await admin.disconnect();
  }
}
