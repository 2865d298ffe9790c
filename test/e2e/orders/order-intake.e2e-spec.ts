import { jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { eventually } from '../../support/eventually.js';
import { startTestApp, validOrderBody, type TestApp } from '../../support/test-app.js';
import { TopicReader } from '../../support/topic-reader.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** Order and event ids are time-ordered (RFC 9562 version 7): the tables keyed by them grow at one end. */
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** The creation time in a version 7 UUID: its first 48 bits, in milliseconds. */
const msOf = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);

describe('order intake (experience layer, real MariaDB and Kafka)', () => {
  let t: TestApp;
  let ordersIn: TopicReader;

  beforeAll(async () => {
    // Intake only: no saga consuming, so the order stays RECEIVED and we see exactly what intake did.
    t = await startTestApp({ layers: ['experience', 'system'], groups: [] });
    ordersIn = await new TopicReader(['orders-in']).start();
  });
  afterAll(async () => {
    await ordersIn?.stop();
    await t?.close();
  });

  const post = (body: unknown, headers: Record<string, string> = {}) => t.post('/api/orders', body, headers);
  const raw = () => request(t.url).post('/api/orders').set('Authorization', `Bearer ${t.token}`);

  it('answers 202 with Location, stores order, items, history and customer, and publishes OrderCreated', async () => {
    const correlationId = `corr-${randomUUID()}`;
    const body = validOrderBody();
    const res = await post(body, { 'X-Correlation-Id': correlationId }).expect(202);

    expect(res.body.orderId).toMatch(UUID_V7);
    expect(Math.abs(msOf(res.body.orderId) - Date.now())).toBeLessThan(60000);
    expect(res.body).toEqual({ orderId: res.body.orderId, status: 'RECEIVED', statusUrl: `/api/orders/${res.body.orderId}/status` });
    expect(res.headers.location).toBe(`/api/orders/${res.body.orderId}`);
    expect(res.headers['x-correlation-id']).toBe(correlationId);
    const orderId: string = res.body.orderId;

    const [order] = await t.dataSource.query('SELECT * FROM orders WHERE id = ?', [orderId]);
    expect(order).toMatchObject({ status: 'RECEIVED', currency: 'EUR', ship_city: 'London', ship_country: 'GB', correlation_id: correlationId, version: 1 });
    const items = await t.dataSource.query('SELECT product_id, quantity, unit_price FROM order_items WHERE order_id = ? ORDER BY line_no', [orderId]);
    expect(items).toEqual([
      { product_id: 'SKU-1001', quantity: 2, unit_price: null },
      { product_id: 'SKU-1002', quantity: 1, unit_price: null },
    ]);
    const history = await t.dataSource.query('SELECT from_status, to_status FROM order_status_history WHERE order_id = ?', [orderId]);
    expect(history).toEqual([{ from_status: null, to_status: 'RECEIVED' }]);
    const [customer] = await t.dataSource.query('SELECT * FROM customers WHERE id = ?', [order.customer_id]);
    expect(customer).toMatchObject({ external_id: 'cust-e2e', name: 'Ada Lovelace', email: 'ada@example.com' });

    const msg = await ordersIn.waitFor((m) => m.key === orderId, `OrderCreated for ${orderId}`);
    expect(msg.headers['x-correlation-id']).toBe(correlationId);
    expect(msg.headers['x-event-type']).toBe('OrderCreated');
    const env = msg.value;
    expect(Object.keys(env).sort()).toEqual(['correlationId', 'eventId', 'eventType', 'occurredAt', 'orderId', 'payload', 'schemaVersion']);
    expect(env.eventId).toMatch(UUID_V7);
    expect(env.eventType).toBe('OrderCreated');
    expect(new Date(env.occurredAt).toISOString()).toBe(env.occurredAt);
    expect(Math.abs(Date.parse(env.occurredAt) - Date.now())).toBeLessThan(60000);
    expect(env.orderId).toBe(orderId);
    expect(env.correlationId).toBe(correlationId);
    expect(env.schemaVersion).toBe(1);
    expect(env.payload).toEqual({
      customer: { id: order.customer_id, name: 'Ada Lovelace', email: 'ada@example.com', phone: '+44 20 7946 0000' },
      shippingAddress: body.shippingAddress,
      items: body.items,
      currency: 'EUR',
    });
    // Published rows leave the outbox.
    await eventually(
      async () => (await t.dataSource.query('SELECT COUNT(*) AS n FROM outbox WHERE message_key = ?', [orderId]))[0].n,
      (n) => Number(n) === 0,
      { what: 'outbox row to be published' },
    );
  });

  /** The customer id of an order's row, checked to be the one its OrderCreated carries. */
  const customerOf = async (orderId: string) => {
    const [order] = await t.dataSource.query('SELECT customer_id FROM orders WHERE id = ?', [orderId]);
    const msg = await ordersIn.waitFor((m) => m.key === orderId, `OrderCreated for ${orderId}`);
    expect(msg.value.payload.customer.id).toBe(order.customer_id);
    return order.customer_id as string;
  };

  it('a returning customer keeps its id, by client id or else by email, and every OrderCreated carries it', async () => {
    const externalId = `cust-${randomUUID()}`;
    const first = await post(validOrderBody({ customer: { id: externalId, name: 'Grace Hopper', email: 'grace@example.com' } })).expect(202);
    const again = await post(validOrderBody({ customer: { id: externalId, name: 'Grace B. Hopper', email: 'grace@navy.example' } })).expect(202);
    const id = await customerOf(first.body.orderId);
    expect(await customerOf(again.body.orderId)).toBe(id);
    // The customer's details are the latest order's.
    const [customer] = await t.dataSource.query('SELECT name, email FROM customers WHERE id = ?', [id]);
    expect(customer).toEqual({ name: 'Grace B. Hopper', email: 'grace@navy.example' });

    // Without a client id the email is the key, in any case; another email is another customer.
    const email = `${randomUUID()}@example.com`;
    const byEmail = await customerOf((await post(validOrderBody({ customer: { name: 'Alan Turing', email } })).expect(202)).body.orderId);
    expect(await customerOf((await post(validOrderBody({ customer: { name: 'Alan Turing', email: email.toUpperCase() } })).expect(202)).body.orderId)).toBe(byEmail);
    const other = await customerOf((await post(validOrderBody({ customer: { name: 'Alan Turing', email: `x${email}` } })).expect(202)).body.orderId);
    expect(new Set([id, byEmail, other]).size).toBe(3);
  });

  it("a returning customer's order is written in one round trip, a new customer's in two", async () => {
    // Every query of the intake's transactions, as sent (createQueryRunner is how leanTransaction gets its connection).
    const sent: Array<{ sql: string; params: unknown[] }> = [];
    const createQueryRunner = t.dataSource.createQueryRunner.bind(t.dataSource);
    const spy = jest.spyOn(t.dataSource, 'createQueryRunner').mockImplementation((...args) => {
      const runner = createQueryRunner(...args);
      const query = runner.query.bind(runner);
      runner.query = ((sql: string, params?: unknown[], ...rest: unknown[]) => {
        sent.push({ sql, params: params ?? [] });
        return (query as (...a: unknown[]) => Promise<unknown>)(sql, params, ...rest);
      }) as typeof runner.query;
      return runner;
    });
    const roundTripsOf = (orderId: string) => {
      const [write] = sent.filter((q) => q.sql.includes('INSERT INTO orders') && q.params.includes(orderId));
      return { opensWithTheOrder: write.sql.startsWith('START TRANSACTION'), commitsWithIt: write.sql.endsWith('COMMIT') };
    };
    try {
      const body = validOrderBody({ customer: { id: `cust-${randomUUID()}`, name: 'Barbara Liskov', email: 'liskov@example.com' } });
      const first = (await post(body).expect(202)).body.orderId;
      const again = (await post(body).expect(202)).body.orderId;
      expect(roundTripsOf(first)).toEqual({ opensWithTheOrder: false, commitsWithIt: true });
      expect(roundTripsOf(again)).toEqual({ opensWithTheOrder: true, commitsWithIt: true });
      expect(await customerOf(again)).toBe(await customerOf(first));
    } finally {
      spy.mockRestore();
    }
  });

  it('a customer id this process knows but the database no longer has: the order is written the long way, under the customer as it is now', async () => {
    const externalId = `cust-${randomUUID()}`;
    const body = validOrderBody({ customer: { id: externalId, name: 'Edsger Dijkstra', email: 'ewd@example.com' } });
    const known = await customerOf((await post(body).expect(202)).body.orderId);
    // The row goes under the running process (say, a table emptied between tests).
    await t.dataSource.query('DELETE FROM customers WHERE id = ?', [known]);
    const orderId = (await post(body).expect(202)).body.orderId;
    const now = await customerOf(orderId);
    expect(now).not.toBe(known);
    const [row] = await t.dataSource.query('SELECT external_id, name FROM customers WHERE id = ?', [now]);
    expect(row).toEqual({ external_id: externalId, name: 'Edsger Dijkstra' });
    // From then on the new id is the known one.
    expect(await customerOf((await post(body).expect(202)).body.orderId)).toBe(now);
  });

  it('makes a correlation id when the client sends none, and the default currency applies', async () => {
    const body = validOrderBody();
    delete body.currency;
    const res = await post(body).expect(202);
    expect(res.headers['x-correlation-id']).toMatch(UUID);
    const msg = await ordersIn.waitFor((m) => m.key === res.body.orderId, 'OrderCreated');
    expect(msg.value.correlationId).toBe(res.headers['x-correlation-id']);
    expect(msg.value.payload.currency).toBe('EUR');
  });

  it('GET returns the whole order and /status the light view', async () => {
    const { body: accepted } = await post(validOrderBody()).expect(202);
    const full = await t.get(`/api/orders/${accepted.orderId}`).expect(200);
    expect(full.body).toMatchObject({
      orderId: accepted.orderId,
      status: 'RECEIVED',
      customer: { externalId: 'cust-e2e', name: 'Ada Lovelace', email: 'ada@example.com' },
      shippingAddress: { line1: '12 St James Square', city: 'London', postalCode: 'SW1Y 4JH', country: 'GB' },
      items: [
        { productId: 'SKU-1001', quantity: 2 },
        { productId: 'SKU-1002', quantity: 1 },
      ],
      currency: 'EUR',
      history: [{ status: 'RECEIVED' }],
    });
    expect(full.body.total).toBeUndefined();
    const status = await t.get(`/api/orders/${accepted.orderId}/status`).expect(200);
    expect(status.body).toEqual({ orderId: accepted.orderId, status: 'RECEIVED', updatedAt: expect.any(String) });
  });

  describe('Idempotency-Key', () => {
    it('same key and body: the first answer again, nothing new created or published', async () => {
      const key = `idem-${randomUUID()}`;
      const body = validOrderBody();
      const first = await post(body, { 'Idempotency-Key': key }).expect(202);
      const second = await post(body, { 'Idempotency-Key': key }).expect(202);
      expect(second.body).toEqual(first.body);
      expect(second.headers.location).toBe(first.headers.location);
      expect(second.headers['idempotent-replayed']).toBe('true');
      const [{ n }] = await t.dataSource.query('SELECT COUNT(*) AS n FROM idempotency_keys WHERE idem_key = ?', [key]);
      expect(Number(n)).toBe(1);
      await ordersIn.waitFor((m) => m.key === first.body.orderId, 'OrderCreated');
      // Key order inside the body does not matter: it is the same request.
      const reordered = { items: body.items, currency: body.currency, shippingAddress: body.shippingAddress, customer: body.customer };
      expect((await post(reordered, { 'Idempotency-Key': key }).expect(202)).body.orderId).toBe(first.body.orderId);
      expect(ordersIn.messages.filter((m) => m.value?.eventType === 'OrderCreated' && m.key === first.body.orderId)).toHaveLength(1);
    });

    it('concurrent requests with one key create one order', async () => {
      const key = `idem-${randomUUID()}`;
      const results = await Promise.all(Array.from({ length: 5 }, () => post(validOrderBody(), { 'Idempotency-Key': key })));
      expect(results.map((r) => r.status)).toEqual([202, 202, 202, 202, 202]);
      expect(new Set(results.map((r) => r.body.orderId)).size).toBe(1);
    });

    it('a key older than IDEMPOTENCY_KEY_TTL_HOURS (24) is absent: a new order, and the key then replays that one', async () => {
      const key = `idem-${randomUUID()}`;
      const body = validOrderBody();
      const age = (hours: number) => t.dataSource.query('UPDATE idempotency_keys SET created_at = NOW(3) - INTERVAL ? HOUR WHERE idem_key = ?', [hours, key]);
      const first = await post(body, { 'Idempotency-Key': key }).expect(202);
      await age(23);
      expect((await post(body, { 'Idempotency-Key': key }).expect(202)).headers['idempotent-replayed']).toBe('true');

      await age(25);
      const second = await post(body, { 'Idempotency-Key': key }).expect(202);
      expect(second.body.orderId).not.toBe(first.body.orderId);
      expect(second.headers['idempotent-replayed']).toBeUndefined();
      const rows = await t.dataSource.query('SELECT order_id FROM idempotency_keys WHERE idem_key = ?', [key]);
      expect(rows).toEqual([{ order_id: second.body.orderId }]);
      const [{ n }] = await t.dataSource.query('SELECT COUNT(*) AS n FROM orders WHERE id IN (?, ?)', [first.body.orderId, second.body.orderId]);
      expect(Number(n)).toBe(2);
      const replayed = await post(body, { 'Idempotency-Key': key }).expect(202);
      expect(replayed.body.orderId).toBe(second.body.orderId);
      expect(replayed.headers['idempotent-replayed']).toBe('true');

      // Expired, a different body is no conflict either: the key is free again.
      await age(25);
      const other = await post(validOrderBody({ items: [{ productId: 'SKU-1003', quantity: 1 }] }), { 'Idempotency-Key': key }).expect(202);
      expect([first.body.orderId, second.body.orderId]).not.toContain(other.body.orderId);
    });

    it('same key, different body: 409 problem, nothing created', async () => {
      const key = `idem-${randomUUID()}`;
      await post(validOrderBody(), { 'Idempotency-Key': key }).expect(202);
      const [{ n: before }] = await t.dataSource.query('SELECT COUNT(*) AS n FROM orders');
      const res = await post(validOrderBody({ items: [{ productId: 'SKU-1003', quantity: 1 }] }), { 'Idempotency-Key': key }).expect(409);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 409, code: 'IDEMPOTENCY_CONFLICT' });
      const [{ n: after }] = await t.dataSource.query('SELECT COUNT(*) AS n FROM orders');
      expect(Number(after)).toBe(Number(before));
    });
  });

  describe('4xx answers (docs/architecture.md §3): problem+json with a code, nothing stored', () => {
    let ordersBefore: number;
    beforeEach(async () => {
      ordersBefore = Number((await t.dataSource.query('SELECT COUNT(*) AS n FROM orders'))[0].n);
    });
    afterEach(async () => {
      expect(Number((await t.dataSource.query('SELECT COUNT(*) AS n FROM orders'))[0].n)).toBe(ordersBefore);
    });

    it('400 lists every invalid field', async () => {
      const res = await post({
        customer: { name: '', email: 'nope' },
        shippingAddress: { line1: 'x', city: 'y', postalCode: 'z', country: 'ZZ' },
        items: [{ productId: 'SKU-1001', quantity: 0 }],
        extra: true,
      }).expect(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', instance: '/api/orders' });
      expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['customer.email', 'customer.name', 'extra', 'items[0].quantity', 'shippingAddress.country']);
    });

    it('400 for malformed JSON, never a 500', async () => {
      const res = await raw().set('Content-Type', 'application/json').send('{"customer": ').expect(400);
      expect(res.body).toMatchObject({ code: 'MALFORMED_REQUEST' });
      expect(JSON.stringify(res.body)).not.toMatch(/at .*\.js|SyntaxError|stack/);
    });

    it.each([
      ['null', 'null'],
      ['an array', '[]'],
      ['a number', '42'],
      ['a string', '"order"'],
    ])('400 for a body that is %s', async (_name, payload) => {
      const res = await raw().set('Content-Type', 'application/json').send(payload);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    });

    it('400 for an invalid Idempotency-Key', async () => {
      const res = await post(validOrderBody(), { 'Idempotency-Key': 'x'.repeat(201) }).expect(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    });

    it('415 for a body that is not JSON', async () => {
      const res = await raw().set('Content-Type', 'text/plain').send('hello').expect(415);
      expect(res.body).toMatchObject({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    });

    it('413 for a body over the size limit', async () => {
      const huge = validOrderBody({ customer: { name: 'x'.repeat(200 * 1024), email: 'a@b.co' } });
      const res = await post(huge).expect(413);
      expect(res.body).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    });

    it('400 for a malformed order id, 404 for an unknown one', async () => {
      expect((await t.get('/api/orders/not-a-uuid').expect(400)).body.code).toBe('VALIDATION_FAILED');
      expect((await t.get('/api/orders/not-a-uuid/status').expect(400)).body.code).toBe('VALIDATION_FAILED');
      const unknown = randomUUID();
      expect((await t.get(`/api/orders/${unknown}`).expect(404)).body).toMatchObject({ status: 404, code: 'ORDER_NOT_FOUND' });
      expect((await t.get(`/api/orders/${unknown}/status`).expect(404)).body.code).toBe('ORDER_NOT_FOUND');
    });

    it('404 problem for an unknown route', async () => {
      const res = await t.get('/api/nothing-here').expect(404);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe('NOT_FOUND');
    });
  });

  it('GET /api/inventory/products lists the seeded catalogue with available stock', async () => {
    const res = await t.get('/api/inventory/products').expect(200);
    expect(res.body.length).toBeGreaterThanOrEqual(30);
    // Other suites add products of their own to the shared test database, some sorting before the seeded ones.
    expect(res.body.find((p: { productId: string }) => p.productId === 'SKU-1001')).toEqual({
      productId: 'SKU-1001',
      name: expect.any(String),
      unitPrice: expect.any(Number),
      currency: 'EUR',
      availableStock: expect.any(Number),
    });
  });

  it('health: live answers while the consumer groups run, ready checks the database and shows the groups and the relay', async () => {
    await t.get('/health/live').expect(200);
    const ready = await eventually(
      () => t.get('/health/ready'),
      (r) => r.status === 200,
      { what: 'readiness' },
    );
    expect(ready.body.details).toMatchObject({ database: { status: 'up' }, consumers: { status: 'up', groups: expect.any(Object) }, relay: { status: 'up', state: 'running' } });
    expect(ready.body.details.kafka).toBeUndefined();
  });
});
