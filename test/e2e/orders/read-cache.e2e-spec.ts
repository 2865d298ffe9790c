import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import request from 'supertest';
import { issueTestToken } from '../../../scripts/oidc-provider.mjs';
import { eventually } from '../../support/eventually.js';
import { freePort } from '../../support/free-port.js';
import { sample } from '../../support/metrics-text.js';
import { createProduct, placeOrder } from '../../support/saga-fixtures.js';
import { startTestApp, validOrderBody, type TestApp } from '../../support/test-app.js';

/**
 * Conditional reads (ETag, If-None-Match, 304) and the order read cache in Redis (ADR 0011), against
 * the real database, broker, OpenID provider and the machine's Redis (logical database 4, so other
 * suites' keys are never touched).
 */
const REDIS_URL = `${(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379').replace(/\/\d*$/, '')}/4`;
const STRONG_ETAG = /^"[A-Za-z0-9_-]{27}"$/;
const cacheKey = (view: 'status' | 'order', orderId: string) => `order-flow:orders:${view}:${orderId}`;
const as = (token: string) => ({ Authorization: `Bearer ${token}` });

async function metric(t: TestApp, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = (await request(t.url).get('/metrics').expect(200)).text;
  return sample(text, name, labels) ?? 0;
}

async function dbStatus(t: TestApp, orderId: string): Promise<{ status: string; shipment_status: string | null }> {
  const [row] = await t.dataSource.query('SELECT status, shipment_status FROM orders WHERE id = ?', [orderId]);
  return row;
}

describe('conditional reads without a cache (no REDIS_URL)', () => {
  let t: TestApp;
  let reader: string;

  beforeAll(async () => {
    delete process.env.REDIS_URL;
    t = await startTestApp({ layers: ['experience'], groups: [] });
    reader = await issueTestToken({ issuer: t.op.issuer, clientId: 'order-flow-reader', clientSecret: 'reader-secret', scope: 'orders.read' });
  });
  afterAll(async () => {
    await t?.close();
  });

  const place = async (): Promise<string> => (await t.post('/api/orders', validOrderBody()).expect(202)).body.orderId;

  it.each(['', '/status'])('GET /api/orders/{id}%s: an ETag and private, no-cache; 304 without a body for a matching If-None-Match', async (suffix) => {
    const path = `/api/orders/${await place()}${suffix}`;
    const first = await t.get(path).expect(200);
    const etag = first.headers.etag as string;
    expect(etag).toMatch(STRONG_ETAG);
    expect(first.headers['cache-control']).toBe('private, no-cache');
    expect(first.headers['content-type']).toMatch(/^application\/json/);
    expect(first.body.status).toBe('RECEIVED');

    for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, `W/"other",W/${etag}`, '*']) {
      const notModified = await t.get(path).set('If-None-Match', ifNoneMatch);
      expect({ ifNoneMatch, status: notModified.status }).toEqual({ ifNoneMatch, status: 304 });
      expect(notModified.headers.etag).toBe(etag);
      expect(notModified.text ?? '').toBe('');
    }
    const other = await t.get(path).set('If-None-Match', '"other", W/"another"').expect(200);
    expect(other.body).toEqual(first.body);
    expect(other.headers.etag).toBe(etag);
  });

  it('the ETag changes with the content, also when only a fulfillment column changes (version stays)', async () => {
    const orderId = await place();
    const before = await t.get(`/api/orders/${orderId}`).expect(200);
    await t.dataSource.query(`UPDATE orders SET shipment_status = 'IN_TRANSIT', tracking_number = 'TRK-1' WHERE id = ?`, [orderId]);
    const after = await t.get(`/api/orders/${orderId}`).set('If-None-Match', before.headers.etag).expect(200);
    expect(after.body.fulfillment).toEqual({ trackingNumber: 'TRK-1', shipmentStatus: 'IN_TRANSIT' });
    expect(after.headers.etag).toMatch(STRONG_ETAG);
    expect(after.headers.etag).not.toBe(before.headers.etag);
  });

  it("another client's order is a 404 problem, never a 304, whatever If-None-Match says", async () => {
    const orderId = await place();
    for (const path of [`/api/orders/${orderId}`, `/api/orders/${orderId}/status`]) {
      const { etag } = (await t.get(path).expect(200)).headers;
      for (const ifNoneMatch of [etag, '*']) {
        const res = await request(t.url).get(path).set(as(reader)).set('If-None-Match', ifNoneMatch);
        expect(res.status).toBe(404);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.body.code).toBe('ORDER_NOT_FOUND');
      }
    }
    const missing = await t.get('/api/orders/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/status').set('If-None-Match', '*');
    expect(missing.status).toBe(404);
  });
});

describe('the read cache in Redis (REDIS_URL, experience only)', () => {
  let t: TestApp;
  let redis: Redis;
  let partner: string;

  beforeAll(async () => {
    t = await startTestApp({ layers: ['experience'], groups: [], env: { REDIS_URL, STATUS_CACHE_TTL_MS: '1000' } });
    partner = await issueTestToken({ issuer: t.op.issuer, clientId: 'order-flow-partner', clientSecret: 'partner-secret', scope: 'orders.read orders.write' });
    redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    redis?.disconnect();
    await t?.close();
  });

  const place = async (): Promise<string> => (await t.post('/api/orders', validOrderBody()).expect(202)).body.orderId;

  it('a second read is a hit: it shows the cached row, not the database, until the TTL has passed', async () => {
    const orderId = await place();
    const path = `/api/orders/${orderId}/status`;
    const [hits, misses] = [await metric(t, 'order_flow_status_cache_requests_total', { result: 'hit' }), await metric(t, 'order_flow_status_cache_requests_total', { result: 'miss' })];
    const first = await t.get(path).expect(200);
    await eventually(() => redis.exists(cacheKey('status', orderId)), (n) => n === 1, { intervalMs: 10, what: 'the entry to be cached' });
    const ttl = await redis.pttl(cacheKey('status', orderId));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1000);

    // Changed behind the cache's back: a hit still answers the cached row, without asking the database.
    await t.dataSource.query(`UPDATE orders SET status = 'CANCELLED', status_reason = 'CANCELLED_BY_CLIENT' WHERE id = ?`, [orderId]);
    const cached = await t.get(path).expect(200);
    expect(cached.body).toEqual(first.body);
    expect(cached.headers.etag).toBe(first.headers.etag);
    expect((await t.get(path).set('If-None-Match', first.headers.etag)).status).toBe(304);
    expect(await metric(t, 'order_flow_status_cache_requests_total', { result: 'miss' })).toBeGreaterThan(misses);
    expect(await metric(t, 'order_flow_status_cache_requests_total', { result: 'hit' })).toBeGreaterThanOrEqual(hits + 2);

    // Once the entry has expired (at most 1 s), the database's row.
    const fresh = await eventually(() => t.get(path), (r) => r.body.status === 'CANCELLED', { intervalMs: 50, timeoutMs: 3000, what: 'the new status' });
    expect(fresh.body.reason).toBe('CANCELLED_BY_CLIENT');
    expect(fresh.headers.etag).not.toBe(first.headers.etag);
  });

  it('caches the whole order too, with its ETag: a 304 straight from the cache', async () => {
    const orderId = await place();
    const first = await t.get(`/api/orders/${orderId}`).expect(200);
    const cached = await eventually(() => redis.get(cacheKey('order', orderId)), (v) => v !== null, { intervalMs: 10, what: 'the order to be cached' });
    expect(JSON.parse(cached!)).toEqual({ owner: 'order-flow-dev', etag: first.headers.etag, json: JSON.stringify(first.body) });
    expect((await t.get(`/api/orders/${orderId}`).set('If-None-Match', first.headers.etag)).status).toBe(304);
  });

  it("checks ownership on a cached entry: another client gets a 404, never the cached order nor a 304", async () => {
    const orderId = await place();
    // The partner's read fills the cache with the dev client's order (the entry records the owner).
    expect((await request(t.url).get(`/api/orders/${orderId}/status`).set(as(partner))).status).toBe(404);
    await eventually(() => redis.exists(cacheKey('status', orderId)), (n) => n === 1, { intervalMs: 10, what: 'the entry to be cached' });
    const own = await t.get(`/api/orders/${orderId}/status`).expect(200);
    for (const ifNoneMatch of [undefined, own.headers.etag, '*']) {
      const req = request(t.url).get(`/api/orders/${orderId}/status`).set(as(partner));
      const res = await (ifNoneMatch ? req.set('If-None-Match', ifNoneMatch) : req);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('ORDER_NOT_FOUND');
    }
  });
});

describe('the read cache and the saga (REDIS_URL, all layers)', () => {
  let t: TestApp;
  let redis: Redis;

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        REDIS_URL,
        STATUS_CACHE_TTL_MS: '1000',
        // Each step takes long enough for the test to plant an entry between two transitions.
        INVENTORY_FAILURE_RATE: '0',
        INVENTORY_LATENCY_MIN_MS: '1500',
        INVENTORY_LATENCY_MAX_MS: '1500',
        PAYMENT_DECLINE_RATE: '0',
        PAYMENT_TRANSIENT_RATE: '0',
        PAYMENT_NO_ANSWER_RATE: '0',
        PAYMENT_FAULT_RATE: '0',
        SHIPPING_FAILURE_RATE: '0',
        SHIPPING_DELIVERY_DELAY_MS: '2500',
        SHIPPING_DELIVERY_INTERVAL_MS: '100',
        SAGA_INVENTORY_TIMEOUT_MS: '10000',
      },
    });
    redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    redis?.disconnect();
    await t?.close();
  });

  /** An entry as the cache writes it, kept for a minute: only an invalidation removes it in time. */
  const plant = (view: 'status' | 'order', orderId: string, body: object, etag: string) =>
    redis.set(cacheKey(view, orderId), JSON.stringify({ owner: 'order-flow-dev', etag, json: JSON.stringify(body) }), 'PX', 60000);

  it('a transition through the saga invalidates the cached status: the new one is visible within 1 s', async () => {
    const productId = await createProduct(t, 10);
    const orderId = await placeOrder(t, [{ productId, quantity: 1 }]);
    await eventually(() => dbStatus(t, orderId), (r) => r.status === 'INVENTORY_CHECK_STARTED', { intervalMs: 20, what: 'INVENTORY_CHECK_STARTED' });
    const current = await t.get(`/api/orders/${orderId}/status`).expect(200);
    await plant('status', orderId, current.body, '"planted"');
    expect((await t.get(`/api/orders/${orderId}/status`).expect(200)).headers.etag).toBe('"planted"');

    await eventually(() => dbStatus(t, orderId), (r) => r.status !== 'INVENTORY_CHECK_STARTED', { intervalMs: 20, what: 'the next transition' });
    const committedAt = Date.now();
    const shown = await eventually(() => t.get(`/api/orders/${orderId}/status`), (r) => r.body.status !== 'INVENTORY_CHECK_STARTED', {
      intervalMs: 20,
      timeoutMs: 5000,
      what: 'the API to show the transition',
    });
    expect(Date.now() - committedAt).toBeLessThan(1000);
    expect(shown.headers.etag).not.toBe('"planted"');
  });

  it('a fulfillment change without a status change (the delivery) invalidates the cached order', async () => {
    const productId = await createProduct(t, 10);
    const orderId = await placeOrder(t, [{ productId, quantity: 1 }]);
    await eventually(() => dbStatus(t, orderId), (r) => r.status === 'SHIPPED', { intervalMs: 50, timeoutMs: 30000, what: 'SHIPPED' });
    const shipped = await t.get(`/api/orders/${orderId}`).expect(200);
    await plant('order', orderId, shipped.body, '"planted"');
    expect((await dbStatus(t, orderId)).shipment_status).not.toBe('DELIVERED');

    await eventually(() => dbStatus(t, orderId), (r) => r.shipment_status === 'DELIVERED', { intervalMs: 20, timeoutMs: 15000, what: 'the delivery' });
    const committedAt = Date.now();
    const shown = await eventually(() => t.get(`/api/orders/${orderId}`), (r) => r.body.fulfillment?.shipmentStatus === 'DELIVERED', {
      intervalMs: 20,
      timeoutMs: 5000,
      what: 'the API to show the delivery',
    });
    expect(Date.now() - committedAt).toBeLessThan(1000);
    expect(shown.body.status).toBe('SHIPPED');
    expect(shown.headers.etag).not.toBe('"planted"');
  });
});

/** Every warning logged through Nest's Logger, while the suite runs. */
const spyOnWarnings = () => jest.spyOn(Logger.prototype, 'warn');

describe('the read cache while Redis is unreachable', () => {
  let t: TestApp;
  let warn: ReturnType<typeof spyOnWarnings>;

  beforeAll(async () => {
    warn = spyOnWarnings();
    t = await startTestApp({ layers: ['experience'], groups: [], env: { REDIS_URL: `redis://127.0.0.1:${await freePort()}/4` } });
  });
  afterAll(async () => {
    warn?.mockRestore();
    await t?.close();
  });

  it('reads come from the database at once, count as errors, and the outage is logged once', async () => {
    const orderId = (await t.post('/api/orders', validOrderBody()).expect(202)).body.orderId;
    const [errors, failedReads] = [await metric(t, 'order_flow_status_cache_errors_total'), await metric(t, 'order_flow_status_cache_requests_total', { result: 'error' })];
    const started = Date.now();
    for (let i = 0; i < 5; i++) {
      const res = await t.get(`/api/orders/${orderId}/status`).expect(200);
      expect(res.body).toMatchObject({ orderId, status: 'RECEIVED' });
      expect(res.headers.etag).toMatch(STRONG_ETAG);
    }
    await t.get(`/api/orders/${orderId}`).expect(200);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await metric(t, 'order_flow_status_cache_requests_total', { result: 'error' })).toBeGreaterThanOrEqual(failedReads + 6);
    expect(await metric(t, 'order_flow_status_cache_errors_total')).toBeGreaterThanOrEqual(errors + 6);
    const outageLines = warn.mock.calls.filter(([message]: unknown[]) => String(message).includes('order reads go to the database'));
    expect(outageLines).toHaveLength(1);
  });
});
