import request from 'supertest';
import { issueTestToken } from '../../../scripts/oidc-provider.mjs';
import { startTestApp, validOrderBody, type TestApp } from '../../support/test-app.js';

/**
 * Orders belong to the OAuth client that created them: any other client gets a 404 (never a 403, which
 * would say the order exists); `orders.admin` sees every order. Customers belong to a client too.
 */
describe('order ownership (real OpenID provider, MariaDB and Kafka)', () => {
  let t: TestApp;
  let partner: string;
  let reader: string;

  beforeAll(async () => {
    t = await startTestApp({ layers: ['experience', 'system'], groups: [] });
    partner = await issueTestToken({ issuer: t.op.issuer, clientId: 'order-flow-partner', clientSecret: 'partner-secret', scope: 'orders.read orders.write' });
    reader = await issueTestToken({ issuer: t.op.issuer, clientId: 'order-flow-reader', clientSecret: 'reader-secret', scope: 'orders.read' });
  });
  afterAll(async () => {
    await t?.close();
  });

  const as = (token: string) => ({ Authorization: `Bearer ${token}` });
  const place = async (token: string, body = validOrderBody()): Promise<string> =>
    (await request(t.url).post('/api/orders').set(as(token)).send(body).expect(202)).body.orderId;
  const read = (token: string, path: string) => request(t.url).get(path).set(as(token));

  it("the partner demo client places and reads its own orders; the order records its owner", async () => {
    const orderId = await place(partner);
    expect((await read(partner, `/api/orders/${orderId}`)).status).toBe(200);
    expect((await read(partner, `/api/orders/${orderId}/status`)).body).toMatchObject({ orderId, status: 'RECEIVED' });
    const [row] = await t.dataSource.query('SELECT client_id FROM orders WHERE id = ?', [orderId]);
    expect(row.client_id).toBe('order-flow-partner');
  });

  it("another client gets the same 404 problem as for an order that does not exist; an admin sees it", async () => {
    const orderId = await place(partner);
    const missing = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
    for (const path of [`/api/orders/${orderId}`, `/api/orders/${orderId}/status`]) {
      const other = await read(reader, path);
      expect(other.status).toBe(404);
      expect(other.headers['content-type']).toMatch(/^application\/problem\+json/);
      const none = await read(reader, path.replace(orderId, missing));
      const shape = (b: Record<string, unknown>) => ({ ...b, detail: undefined, instance: undefined, correlationId: undefined });
      expect(shape(other.body)).toEqual(shape(none.body));
      expect(other.body.code).toBe('ORDER_NOT_FOUND');
      // orders.admin (the dev client) sees every client's orders.
      expect((await t.get(path)).status).toBe(200);
    }
    // And the partner does not see the dev client's orders.
    const devOrder = await place(t.token);
    expect((await read(partner, `/api/orders/${devOrder}`)).status).toBe(404);
    expect((await read(partner, `/api/orders/${devOrder}/status`)).status).toBe(404);
  });

  it('the same customer under two clients is two customers: one client never overwrites what the other shows', async () => {
    const email = `shared-${Date.now()}@example.com`;
    const devOrder = await place(t.token, validOrderBody({ customer: { name: 'Dev Name', email, phone: '+44 20 0000 0001' } }));
    const partnerOrder = await place(partner, validOrderBody({ customer: { name: 'Partner Name', email, phone: '+44 20 0000 0002' } }));
    const devView = (await read(t.token, `/api/orders/${devOrder}`).expect(200)).body;
    const partnerView = (await read(partner, `/api/orders/${partnerOrder}`).expect(200)).body;
    expect(devView.customer).toMatchObject({ name: 'Dev Name', email, phone: '+44 20 0000 0001' });
    expect(partnerView.customer).toMatchObject({ name: 'Partner Name', email, phone: '+44 20 0000 0002' });
    expect(devView.customer.id).not.toBe(partnerView.customer.id);
    const rows = await t.dataSource.query('SELECT client_id FROM customers WHERE email = ? ORDER BY client_id', [email]);
    expect(rows.map((r: { client_id: string }) => r.client_id)).toEqual(['order-flow-dev', 'order-flow-partner']);
  });

  it('an Idempotency-Key is the owner\'s own: the same key from two clients makes two orders', async () => {
    const key = `shared-key-${Date.now()}`;
    const body = validOrderBody();
    const a = await request(t.url).post('/api/orders').set({ ...as(t.token), 'Idempotency-Key': key }).send(body).expect(202);
    const b = await request(t.url).post('/api/orders').set({ ...as(partner), 'Idempotency-Key': key }).send(body).expect(202);
    expect(b.body.orderId).not.toBe(a.body.orderId);
    expect(b.headers['idempotent-replayed']).toBeUndefined();
  });
});
