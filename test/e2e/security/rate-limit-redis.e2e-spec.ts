import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { RateLimiter } from '../../../src/platform/auth/rate-limiter.js';
import { eventually } from '../../support/eventually.js';
import { freePort } from '../../support/free-port.js';
import { nowSeconds, startSecurityHarness, type SecurityHarness } from './security-harness.js';

/** The machine's Redis (npm test starts one when none answers). */
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function sharedLimiter(limit: number, keyPrefix?: string): Promise<RateLimiter> {
  const limiter = new RateLimiter({ limit, redisUrl: REDIS_URL, ...(keyPrefix ? { keyPrefix } : {}) });
  await eventually(() => limiter.shared, Boolean, { timeoutMs: 10000, what: `the connection to Redis at ${REDIS_URL}` });
  return limiter;
}

describe('rate limiting in Redis (REDIS_URL)', () => {
  const limiters: RateLimiter[] = [];
  afterAll(() => limiters.forEach((l) => l.close()));

  it('holds one limit across two replicas', async () => {
    const prefix = `order-flow-test:${randomUUID()}`;
    const a = await sharedLimiter(3, prefix);
    const b = await sharedLimiter(3, prefix);
    limiters.push(a, b);

    expect(await a.hit('client:x')).toMatchObject({ allowed: true, remaining: 2 });
    expect(await b.hit('client:x')).toMatchObject({ allowed: true, remaining: 1 });
    expect(await a.hit('client:x')).toMatchObject({ allowed: true, remaining: 0 });
    const refused = await b.hit('client:x');
    expect(refused).toMatchObject({ allowed: false, remaining: 0, limit: 3 });
    expect(refused.resetSeconds).toBeGreaterThan(0);
    expect(refused.resetSeconds).toBeLessThanOrEqual(60);
    expect((await a.hit('client:x')).allowed).toBe(false);
    // Another client has its own budget.
    expect(await b.hit('client:y')).toMatchObject({ allowed: true, remaining: 2 });
  });

  it('keeps limiting, per replica and in memory, while Redis cannot be reached', async () => {
    const limiter = new RateLimiter({ limit: 2, redisUrl: `redis://127.0.0.1:${await freePort()}` });
    limiters.push(limiter);
    const started = Date.now();
    expect(await limiter.hit('client:x')).toMatchObject({ allowed: true, remaining: 1 });
    expect(await limiter.hit('client:x')).toMatchObject({ allowed: true, remaining: 0 });
    expect(await limiter.hit('client:x')).toMatchObject({ allowed: false, remaining: 0 });
    expect(await limiter.hit('client:y')).toMatchObject({ allowed: true });
    expect(limiter.shared).toBe(false);
    // No request waits for Redis: the fallback answers at once.
    expect(Date.now() - started).toBeLessThan(1000);
  });

  describe('the service with REDIS_URL', () => {
    let h: SecurityHarness;
    beforeAll(async () => {
      h = await startSecurityHarness({ RATE_LIMIT_PER_MINUTE: '3', REDIS_URL });
      await eventually(() => h.app.get(RateLimiter).shared, Boolean, { timeoutMs: 10000, what: "the service's connection to Redis" });
    });
    afterAll(async () => {
      await h?.close();
    });

    it('counts what another replica already counted for the same client: 429 problem+json with Retry-After', async () => {
      const clientId = `replica-${randomUUID()}`;
      const token = h.op.signToken({ iss: h.op.issuer, aud: h.op.audience, sub: clientId, client_id: clientId, iat: nowSeconds(), exp: nowSeconds() + 300, scope: 'orders.read' });
      const otherReplica = await sharedLimiter(3);
      limiters.push(otherReplica);
      await otherReplica.hit(`client:${clientId}`);
      await otherReplica.hit(`client:${clientId}`);

      const get = () => request(h.url).get('/api/inventory/products').set('Authorization', `Bearer ${token}`);
      const last = await get();
      expect(last.status).toBe(200);
      expect(last.headers['ratelimit-limit']).toBe('3');
      expect(last.headers['ratelimit-remaining']).toBe('0');
      const limited = await get();
      expect(limited.status).toBe(429);
      expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(limited.body).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
      // The other replica sees the service's count too.
      expect((await otherReplica.hit(`client:${clientId}`)).allowed).toBe(false);
    });
  });
});
