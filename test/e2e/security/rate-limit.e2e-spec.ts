import request from 'supertest';
import { issueTestToken } from '../../../scripts/oidc-provider.mjs';
import { startSecurityHarness, type SecurityHarness } from './security-harness.js';

describe('rate limiting per client', () => {
  let h: SecurityHarness;

  beforeAll(async () => {
    h = await startSecurityHarness({ RATE_LIMIT_PER_MINUTE: '3' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers 429 problem+json with Retry-After once a client exceeds RATE_LIMIT_PER_MINUTE, other clients unaffected', async () => {
    const dev = await issueTestToken({ issuer: h.op.issuer, scope: 'orders.read' });
    const reader = await issueTestToken({ issuer: h.op.issuer, clientId: 'order-flow-reader', clientSecret: 'reader-secret', scope: 'orders.read' });
    const get = (token: string) => request(h.url).get('/api/inventory/products').set('Authorization', `Bearer ${token}`);

    for (let i = 0; i < 3; i++) expect((await get(dev)).status).toBe(200);
    const limited = await get(dev);
    expect(limited.status).toBe(429);
    expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(limited.body).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);

    // Keyed by the token's client id, not by the connection: another client still gets through.
    expect((await get(reader)).status).toBe(200);
    // A new token of the same client shares the client's budget.
    const devAgain = await issueTestToken({ issuer: h.op.issuer, scope: 'orders.read' });
    expect((await get(devAgain)).status).toBe(429);
  });

  it('does not spend a client budget on refused tokens', async () => {
    const res = await request(h.url).get('/api/inventory/products').set('Authorization', 'Bearer nonsense');
    expect(res.status).toBe(401);
  });
});
