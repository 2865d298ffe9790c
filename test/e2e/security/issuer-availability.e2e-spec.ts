import { createSign, generateKeyPairSync } from 'node:crypto';
import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import { issueTestToken, startOidcProvider, type RunningOidcProvider } from '../../../scripts/oidc-provider.mjs';
import { freePort } from '../../support/free-port.js';
import { nowSeconds, validOrder } from './security-harness.js';

/** The issuer may start after the service: no discovery at boot, 503 meanwhile, never a crash. */
describe('issuer availability', () => {
  let app: NestExpressApplication;
  let url: string;
  let op: RunningOidcProvider | undefined;
  let issuer: string;

  beforeAll(async () => {
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    Object.assign(process.env, { KAFKA_BROKERS: '127.0.0.1:1', LOG_LEVEL: 'silent', AUTH_ISSUER_URL: issuer, AUTH_AUDIENCE: 'api://order-flow' });
    const { createApp } = await import('../../../src/bootstrap.js');
    app = await createApp({ layers: ['experience'], groups: [] });
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    (globalThis as { __issuerPort?: number }).__issuerPort = port;
  });
  afterAll(async () => {
    await app?.close();
    await op?.close();
  });

  it('boots without the issuer, answers 503 with Retry-After for a token, and 401 without one', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    const input = `${b64({ alg: 'RS256', kid: 'k1' })}.${b64({ iss: issuer, aud: 'api://order-flow', sub: 'c', exp: nowSeconds() + 60, scope: 'orders.write' })}`;
    const token = `${input}.${createSign('RSA-SHA256').update(input).sign(privateKey).toString('base64url')}`;

    const res = await request(url).post('/api/orders').set('Authorization', `Bearer ${token}`).send(validOrder());
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect((await request(url).post('/api/orders').send(validOrder())).status).toBe(401);
    expect((await request(url).get('/health/live')).status).toBe(200);
  });

  it('accepts tokens once the issuer comes up', async () => {
    op = await startOidcProvider({ port: (globalThis as { __issuerPort?: number }).__issuerPort! });
    const token = await issueTestToken({ issuer: op.issuer, scope: 'orders.write' });
    const deadline = Date.now() + 20_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await request(url).post('/api/orders').set('Authorization', `Bearer ${token}`).send(validOrder())).status;
      if (status !== 503) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(status).toBe(202);
  });
});
