import { jest } from '@jest/globals';
import fs from 'node:fs';
import http from 'node:http';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { issueTestToken } from '../../../scripts/oidc-provider.mjs';
import { eventually } from '../../support/eventually.js';
import { startSecurityHarness, validOrder, type SecurityHarness } from './security-harness.js';

describe('hardened HTTP', () => {
  let h: SecurityHarness;
  let token: string;

  beforeAll(async () => {
    h = await startSecurityHarness({ HTTP_BODY_LIMIT: '4kb', CORS_ORIGINS: 'https://shop.example.com', LOG_LEVEL: 'debug' });
    token = await issueTestToken({ issuer: h.op.issuer });
  });
  afterAll(async () => {
    await h?.close();
  });

  const post = () => request(h.url).post('/api/orders').set('Authorization', `Bearer ${token}`);

  it('answers 415 problem+json for a body that is not JSON', async () => {
    const res = await post().set('Content-Type', 'text/plain').send('customer=ada');
    expect(res.status).toBe(415);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const form = await post().type('form').send({ customer: 'ada' });
    expect(form.status).toBe(415);
  });

  it('answers 413 problem+json for a body over HTTP_BODY_LIMIT', async () => {
    const res = await post()
      .set('Content-Type', 'application/json')
      .send({ ...validOrder(), padding: 'x'.repeat(8 * 1024) });
    expect(res.status).toBe(413);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('PAYLOAD_TOO_LARGE');
    // Refused by the body parser, before CorrelationMiddleware: the filter still gives it an id.
    expect(res.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.correlationId).toBe(res.headers['x-correlation-id']);
    const named = await post().set('Content-Type', 'application/json').set('X-Correlation-Id', 'corr-too-large').send({ ...validOrder(), padding: 'x'.repeat(8 * 1024) });
    expect([named.status, named.headers['x-correlation-id'], named.body.correlationId]).toEqual([413, 'corr-too-large', 'corr-too-large']);
  });

  it('answers 400 FORBIDDEN_KEY, naming the path, for __proto__, constructor or prototype keys at any depth, and creates no order', async () => {
    const db = h.app.get(DataSource);
    const email = `proto-${Date.now()}@example.com`;
    const ordersOf = async (): Promise<number> =>
      Number((await db.query('SELECT COUNT(*) AS n FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.email = ?', [email]))[0].n);
    // Raw text: in a JS object literal `__proto__` sets the prototype instead of making a key.
    const order = (extra: { root?: string; customer?: string; address?: string; item?: string }): string =>
      `{${extra.root ?? ''}"customer":{${extra.customer ?? ''}"name":"Ada Lovelace","email":"${email}"},` +
      `"shippingAddress":{${extra.address ?? ''}"line1":"12 St James Square","city":"London","postalCode":"SW1Y 4JH","country":"GB"},` +
      `"items":[{"productId":"SKU-1001","quantity":1},{${extra.item ?? ''}"productId":"SKU-1002","quantity":1}]}`;
    const cases: Array<[string, string[]]> = [
      [order({ root: '"__proto__":{"isAdmin":true},' }), ['__proto__']],
      [order({ customer: '"constructor":{"prototype":{"isAdmin":true}},' }), ['customer.constructor']],
      [order({ address: '"prototype":"x",' }), ['shippingAddress.prototype']],
      [order({ item: '"__proto__":{"unitPrice":0},' }), ['items[1].__proto__']],
      [order({ root: '"notes":[[{"deep":{"constructor":1}}]],', item: '"prototype":null,' }), ['notes[0][0].deep.constructor', 'items[1].prototype']],
      [`[{"__proto__":{}}]`, ['[0].__proto__']],
    ];
    for (const [body, paths] of cases) {
      const res = await post().set('Content-Type', 'application/json').set('Idempotency-Key', `proto-${paths[0]}`).send(body);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 400, code: 'FORBIDDEN_KEY', instance: '/api/orders' });
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(paths);
    }
    // Any JSON body, not only an order: an operator route refuses it before its handler runs.
    const replay = await request(h.url)
      .post('/api/admin/dead-letters/replay')
      .set('Authorization', `Bearer ${token}`)
      .set('Content-Type', 'application/json')
      .send('{"all":true,"__proto__":{"ids":["0@1"]}}');
    expect(replay.status).toBe(400);
    expect(replay.body.code).toBe('FORBIDDEN_KEY');
    expect(await ordersOf()).toBe(0);
    expect(Number((await db.query('SELECT COUNT(*) AS n FROM idempotency_keys WHERE idem_key LIKE ?', ['proto-%']))[0].n)).toBe(0);

    // The words are fine as values: the same order without those keys is accepted.
    const fine = await post()
      .set('Content-Type', 'application/json')
      .send(order({ customer: '"id":"constructor",' }));
    expect(fine.status).toBe(202);
    expect(await ordersOf()).toBe(1);
  });

  it('keeps an idle kept-alive connection open longer than a load balancer would (HTTP_KEEP_ALIVE_TIMEOUT_MS, 65 s)', async () => {
    // Node's own 5 s closes connections a proxy or a pooling client is about to reuse: resets under load.
    const agent = new http.Agent({ keepAlive: true });
    try {
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => http.get(`${h.url}/health/live`, { agent }, resolve).on('error', reject));
      res.resume();
      expect(res.statusCode).toBe(200);
      expect(res.headers.connection).toBe('keep-alive');
      expect(res.headers['keep-alive']).toBe('timeout=65');
    } finally {
      agent.destroy();
    }
  });

  it('sends security headers and no framework banner', async () => {
    const res = await request(h.url).get('/api/inventory/products').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['cache-control']).toBe('no-store');
    const csp = res.headers['content-security-policy'] as string;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain(`connect-src 'self' ${h.op.issuer}`);
    const docs = await request(h.url).get('/docs/');
    expect(docs.status).toBe(200);
    expect(docs.headers['content-security-policy']).toContain("script-src 'self'");
  });

  it('allows CORS only for CORS_ORIGINS', async () => {
    const allowed = await request(h.url)
      .options('/api/orders')
      .set('Origin', 'https://shop.example.com')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization,content-type');
    expect(allowed.status).toBe(204);
    expect(allowed.headers['access-control-allow-origin']).toBe('https://shop.example.com');
    expect(allowed.headers['access-control-allow-headers']).toMatch(/Authorization/);
    const other = await request(h.url).options('/api/orders').set('Origin', 'https://evil.example.com').set('Access-Control-Request-Method', 'POST');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('never shows a stack trace or internals in an error', async () => {
    const auth = { Authorization: `Bearer ${token}` };
    const answers = [
      await post().set('Content-Type', 'application/json').send('{"customer": '),
      await request(h.url).get('/api/orders/not-a-uuid').set(auth),
      await request(h.url).get('/api/orders/00000000-0000-4000-8000-000000000000').set(auth),
      await request(h.url).get('/api/nothing-here').set(auth),
      await request(h.url).get('/api/orders/x').set('Authorization', 'Bearer eyJhbGciOiJSUzI1NiJ9.e30.AAAA'),
    ];
    for (const res of answers) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(JSON.stringify(res.body)).not.toMatch(/\bat .+:\d+:\d+|node_modules|\/work\/|Error:|SELECT|stack/i);
    }
  });

  /** Everything the app's loggers write (pino writes with fs.write/fs.writeSync, Nest's fallback to stdout). */
  function captureLogs(): { text(): string; lines(): Array<Record<string, any>>; restore(): void } {
    const written: string[] = [];
    const capture = (chunk: unknown): void => {
      written.push(typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString() : String(chunk));
    };
    const writeSync = jest.spyOn(fs, 'writeSync').mockImplementation((_fd: number, data: unknown) => {
      capture(data);
      return typeof data === 'string' ? Buffer.byteLength(data) : (data as Buffer).length;
    });
    const write = jest.spyOn(fs, 'write').mockImplementation(((_fd: number, data: unknown, ...rest: unknown[]) => {
      capture(data);
      const cb = rest.find((a) => typeof a === 'function') as ((e: null, n: number) => void) | undefined;
      cb?.(null, typeof data === 'string' ? Buffer.byteLength(data) : (data as Buffer).length);
    }) as never);
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown) => {
      capture(chunk);
      return true;
    }) as never);
    const text = (): string => written.join('');
    return {
      text,
      lines: () =>
        text()
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, any>),
      restore: () => {
        writeSync.mockRestore();
        write.mockRestore();
        stdout.mockRestore();
      },
    };
  }
  const accessLines = (logs: ReturnType<typeof captureLogs>): Array<Record<string, any>> => logs.lines().filter((l) => l.msg === 'request completed');

  it('writes no token or secret to the logs', async () => {
    const logs = captureLogs();
    try {
      const forged = `${token.split('.').slice(0, 2).join('.')}.c2lnbmF0dXJl`;
      await post()
        .set('Content-Type', 'application/json')
        .send({ ...validOrder(), password: 'hunter2' });
      await request(h.url).get('/api/inventory/products').set('Authorization', `Bearer ${forged}`);
      await request(h.url).get('/api/inventory/products?access_token=s3cr3t-in-url').set('Authorization', `Bearer ${token}`).set('Cookie', 'session=s3cr3t');
      await eventually(() => accessLines(logs).length, (n) => n >= 3, { what: 'the three access lines' });
    } finally {
      logs.restore();
    }
    const text = logs.text();
    expect(text).toMatch(/"url":"\/api\/inventory\/products"/);
    expect(text).not.toContain(token.split('.')[2]);
    expect(text).not.toContain(token.split('.')[1]);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('s3cr3t');
    expect(text).not.toMatch(/Bearer ey/);
  });

  it('writes one access line per request, with its correlation id, status and time, and none for probes', async () => {
    const logs = captureLogs();
    try {
      const listed = await request(h.url).get('/api/inventory/products?limit=5').set('Authorization', `Bearer ${token}`).set('X-Correlation-Id', 'corr-access-1');
      const refused = await request(h.url).get('/api/inventory/products');
      await request(h.url).get('/health/live');
      await request(h.url).get('/metrics');
      expect(listed.status).toBe(200);
      expect(refused.status).toBe(401);
      await eventually(() => accessLines(logs).length, (n) => n >= 2, { what: 'the two access lines' });
      const lines = accessLines(logs);
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatchObject({ level: 30, req: { method: 'GET', url: '/api/inventory/products' }, res: { statusCode: 200 }, correlationId: 'corr-access-1' });
      expect(lines[0].responseTime).toEqual(expect.any(Number));
      expect(lines[1]).toMatchObject({ req: { method: 'GET', url: '/api/inventory/products' }, res: { statusCode: 401 }, correlationId: refused.headers['x-correlation-id'] });
      // The request and response themselves never reach the log: only the fields above.
      expect(Object.keys(lines[0].req as object)).toEqual(['method', 'url']);
      expect(Object.keys(lines[0].res as object)).toEqual(['statusCode']);
    } finally {
      logs.restore();
    }
  });
});
