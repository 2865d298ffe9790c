import { jest } from '@jest/globals';
import { createHmac, createPublicKey, createSign, generateKeyPairSync } from 'node:crypto';
import request from 'supertest';
import { issueTestToken } from '../../../scripts/oidc-provider.mjs';
import { AccessTokenVerifier } from '../../../src/platform/auth/access-token.verifier.js';
import { eventually } from '../../support/eventually.js';
import { nowSeconds, startSecurityHarness, validOrder, type SecurityHarness } from './security-harness.js';

/** Attack cases against the real app and a real local OpenID provider (docs/security.md). */
describe('access tokens', () => {
  let h: SecurityHarness;
  let devToken: string;
  let readerToken: string;

  beforeAll(async () => {
    h = await startSecurityHarness();
    devToken = await issueTestToken({ issuer: h.op.issuer });
    readerToken = await issueTestToken({ issuer: h.op.issuer, clientId: 'order-flow-reader', clientSecret: 'reader-secret', scope: 'orders.read' });
  });
  afterAll(async () => {
    await h?.close();
  });

  const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const claims = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    iss: h.op.issuer,
    aud: h.op.audience,
    sub: 'forger',
    client_id: 'forger',
    iat: nowSeconds(),
    exp: nowSeconds() + 300,
    scope: 'orders.read orders.write',
    ...extra,
  });
  const post = (token?: string) => {
    const r = request(h.url).post('/api/orders').set('Content-Type', 'application/json');
    return (token ? r.set('Authorization', `Bearer ${token}`) : r).send(validOrder());
  };

  async function expectUnauthorized(token: string | undefined, description?: RegExp): Promise<void> {
    const res = await post(token);
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="order-flow"/);
    if (token) expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
    if (description) expect(res.body.detail).toMatch(description);
    expect(JSON.stringify(res.body)).not.toMatch(/at \w+ \(|node_modules|jsonwebtoken|jose|ERR_J|stack/);
  }

  it('refuses a request without a token, with a Bearer challenge and no error code', async () => {
    const res = await post();
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="order-flow"');
    expect(res.body.code).toBe('UNAUTHORIZED');
  });

  it('refuses Basic credentials and a token in the query string', async () => {
    const basic = await request(h.url).get('/api/inventory/products').set('Authorization', 'Basic b3JkZXItZmxvdy1kZXY6ZGV2LXNlY3JldA==');
    expect(basic.status).toBe(401);
    const query = await request(h.url).get(`/api/inventory/products?access_token=${devToken}`);
    expect(query.status).toBe(401);
  });

  it('refuses a malformed token', async () => {
    await expectUnauthorized('not-a-jwt', /malformed/);
    await expectUnauthorized('a.b.c', /malformed/);
  });

  it('refuses a token from another issuer', async () => {
    await expectUnauthorized(h.op.signToken(claims({ iss: 'https://evil.example.com/oauth2/default' })), /another issuer/);
  });

  it('refuses a token for another audience', async () => {
    await expectUnauthorized(h.op.signToken(claims({ aud: 'api://someone-else' })), /not meant for this API/);
  });

  it('refuses an unsigned token (alg none)', async () => {
    await expectUnauthorized(`${b64({ alg: 'none', typ: 'JWT', kid: 'x' })}.${b64(claims())}.`, /RS256/);
  });

  it('refuses HS256 signed with the public key (algorithm confusion)', async () => {
    const jwks = (await (await fetch(`${h.op.issuer}/v1/keys`)).json()) as { keys: Array<Record<string, string>> };
    const publicPem = createPublicKey({ key: jwks.keys[0]!, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: jwks.keys[0]!.kid })}.${b64(claims())}`;
    await expectUnauthorized(`${input}.${createHmac('sha256', publicPem).update(input).digest('base64url')}`, /RS256/);
  });

  it('refuses an expired token (beyond the clock skew)', async () => {
    await expectUnauthorized(h.op.signToken(claims({ iat: nowSeconds() - 3600, exp: nowSeconds() - 120 })), /expired/);
  });

  it('accepts a token that expired within the clock skew (30 s)', async () => {
    const res = await request(h.url)
      .get('/api/inventory/products')
      .set('Authorization', `Bearer ${h.op.signToken(claims({ exp: nowSeconds() - 5 }))}`);
    expect(res.status).toBe(200);
  });

  it('checks a token in full once, then knows its caller until the token expires; a copy with another signature is refused', async () => {
    const full = jest.spyOn(h.app.get(AccessTokenVerifier), 'check');
    const get = (token: string) => request(h.url).get('/api/inventory/products').set('Authorization', `Bearer ${token}`);
    try {
      const token = h.op.signToken(claims({ sub: 'cache-1', client_id: 'cache-1' }));
      expect((await get(token)).status).toBe(200);
      expect((await get(token)).status).toBe(200);
      expect(full).toHaveBeenCalledTimes(1);

      const [header, payload] = token.split('.') as [string, string];
      await expectUnauthorized(`${header}.${payload}.${Buffer.alloc(256, 7).toString('base64url')}`, /signature/);
      expect(full).toHaveBeenCalledTimes(2);

      // Known until its exp, then checked in full again (and still accepted within the clock skew).
      const short = h.op.signToken(claims({ sub: 'cache-2', client_id: 'cache-2', exp: nowSeconds() + 2 }));
      expect((await get(short)).status).toBe(200);
      expect((await get(short)).status).toBe(200);
      expect(full).toHaveBeenCalledTimes(3);
      await eventually(
        async () => {
          expect((await get(short)).status).toBe(200);
          return full.mock.calls.length;
        },
        (calls) => calls > 3,
        { timeoutMs: 10000, what: 'the expired token to be checked in full again' },
      );
    } finally {
      full.mockRestore();
    }
  });

  it('refuses a token that is not valid yet', async () => {
    await expectUnauthorized(h.op.signToken(claims({ nbf: nowSeconds() + 120 })), /not valid yet/);
  });

  it('refuses a token without an expiry', async () => {
    const { exp: _exp, ...noExp } = claims();
    await expectUnauthorized(h.op.signToken(noExp), /no expiry/);
  });

  it('refuses a tampered payload', async () => {
    const [header, payload, signature] = readerToken.split('.') as [string, string, string];
    const forged = { ...JSON.parse(Buffer.from(payload, 'base64url').toString()), scope: 'orders.read orders.write orders.admin' };
    await expectUnauthorized(`${header}.${b64(forged)}.${signature}`, /signature/);
  });

  it('refuses a token signed by a key the issuer does not publish', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const sign = (kid: string): string => {
      const input = `${b64({ alg: 'RS256', typ: 'at+jwt', kid })}.${b64(claims())}`;
      return `${input}.${createSign('RSA-SHA256').update(input).sign(privateKey).toString('base64url')}`;
    };
    await expectUnauthorized(sign('unknown-kid'), /unknown key/);
    // The same foreign key claiming the provider's real key id fails the signature check.
    const realKid = JSON.parse(Buffer.from(devToken.split('.')[0]!, 'base64url').toString()).kid as string;
    await expectUnauthorized(sign(realKid), /signature/);
  });

  it('answers 403 with insufficient_scope when the token lacks the scope', async () => {
    const res = await post(readerToken);
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    expect(res.headers['www-authenticate']).toContain('error="insufficient_scope"');
    expect(res.headers['www-authenticate']).toContain('scope="orders.write"');
  });

  it('never matches a scope by substring', async () => {
    for (const scope of ['orders.writer', 'xorders.write', 'orders.write.all', 'orders.read,orders.write', 'ORDERS.WRITE']) {
      expect((await post(h.op.signToken(claims({ scope })))).status).toBe(403);
    }
    expect((await post(h.op.signToken(claims({ scope: undefined, scp: ['orders.writer', 'xorders.write'] })))).status).toBe(403);
    expect((await post(h.op.signToken(claims({ scope: undefined, scp: 'orders.writes' })))).status).toBe(403);
  });

  it('accepts a client-credentials token from the provider: 202 on POST, 200 on the GETs', async () => {
    const created = await post(devToken);
    expect(created.status).toBe(202);
    expect(created.body.status).toBe('RECEIVED');
    const auth = { Authorization: `Bearer ${devToken}` };
    expect((await request(h.url).get(`/api/orders/${created.body.orderId}`).set(auth)).status).toBe(200);
    expect((await request(h.url).get(`/api/orders/${created.body.orderId}/status`).set(auth)).status).toBe(200);
    expect((await request(h.url).get('/api/inventory/products').set(auth)).status).toBe(200);
    // Another client without orders.admin: the order is not its own, so for it there is no such order.
    const reader = await request(h.url).get(`/api/orders/${created.body.orderId}/status`).set('Authorization', `Bearer ${readerToken}`);
    expect(reader.status).toBe(404);
  });

  it('accepts an Okta-style token with an `scp` array and `cid`', async () => {
    const okta = h.op.signToken(
      {
        ver: 1,
        jti: 'AT.x',
        iss: h.op.issuer,
        aud: h.op.audience,
        iat: nowSeconds(),
        exp: nowSeconds() + 300,
        cid: '0oa1okta',
        sub: '0oa1okta',
        scp: ['orders.write', 'orders.read'],
      },
      { typ: undefined },
    );
    expect((await post(okta)).status).toBe(202);
  });

  it('scopes Idempotency-Keys per client', async () => {
    const other = h.op.signToken(claims({ sub: 'other', client_id: 'other-client' }));
    const key = `sec-${Date.now()}`;
    const first = await post(devToken).set('Idempotency-Key', key);
    const sameClient = await post(devToken).set('Idempotency-Key', key);
    const otherClient = await post(other).set('Idempotency-Key', key);
    expect([first.status, sameClient.status, otherClient.status]).toEqual([202, 202, 202]);
    expect(sameClient.body.orderId).toBe(first.body.orderId);
    expect(otherClient.body.orderId).not.toBe(first.body.orderId);
  });

  it('leaves health and docs public', async () => {
    expect((await request(h.url).get('/health/live')).status).toBe(200);
    expect((await request(h.url).get('/docs-json')).status).toBe(200);
  });
});
