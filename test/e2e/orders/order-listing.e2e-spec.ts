import request from 'supertest';
import type { DataSource } from 'typeorm';
import { v7 } from 'uuid';
import { issueTestToken } from '../../../scripts/oidc-provider.mjs';
import { ORDER_STATUSES } from '../../../src/contracts/order-status.js';
import { listStatement, type OrderListFilter } from '../../../src/order-store/order.repository.js';
import { startTestApp, validOrderBody, type TestApp } from '../../support/test-app.js';

const PARTNER = 'order-flow-partner';
const DEV = 'order-flow-dev';
/** The seeded orders live in March 2021, a month no other suite writes to: this window holds only them. */
const MARCH = { createdFrom: '2021-03-01T00:00:00Z', createdTo: '2021-04-01T00:00:00Z' };
const DAY_MS = 86_400_000;
const STATUSES = ['SHIPPED', 'CANCELLED', 'PAYMENT_FAILED', 'RECEIVED'] as const;

interface Seeded {
  id: string;
  clientId: string;
  status: string;
  email: string;
  createdAt: Date;
}

/** Inserts a customer of `clientId` and returns its id (the columns the intake writes). */
async function insertCustomer(db: DataSource, clientId: string, email: string): Promise<string> {
  const id = v7();
  await db.query(`INSERT INTO customers (id, client_id, customer_key, name, email) VALUES (?, ?, ?, 'Seeded', ?)`, [id, clientId, `email:${email.toLowerCase()}:${id}`, email]);
  return id;
}

/** Inserts an order as the intake and saga would have left it, its id made at its creation time. */
async function insertOrder(db: DataSource, o: Seeded, customerId: string): Promise<void> {
  await db.query(
    `INSERT INTO orders (id, customer_id, client_id, status, status_reason, version, total, currency, ship_line1, ship_city, ship_postal_code, ship_country, correlation_id, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, 1, 19.99, 'EUR', '1 Seed Street', 'London', 'SW1Y 4JH', 'GB', 'seed', ?, ?)`,
    [o.id, customerId, o.clientId, o.status, o.status === 'PAYMENT_FAILED' ? 'PAYMENT_DECLINED' : null, o.createdAt, new Date(o.createdAt.getTime() + 1000)],
  );
}

/**
 * 60 orders of the partner (two a day from 2021-03-01, every fourth status, two customers) and 8 of
 * the dev client, one of whose customers has the partner customer's email in another case.
 */
async function seed(db: DataSource): Promise<Seeded[]> {
  const customers: Record<string, string> = {
    [`${PARTNER}/alice`]: await insertCustomer(db, PARTNER, 'Alice.Seed@Example.com'),
    [`${PARTNER}/bob`]: await insertCustomer(db, PARTNER, 'bob.seed@example.com'),
    [`${DEV}/alice`]: await insertCustomer(db, DEV, 'alice.seed@example.com'),
  };
  const start = Date.parse('2021-03-01T06:00:00Z');
  const plan = [
    ...Array.from({ length: 60 }, (_, i) => ({ clientId: PARTNER, who: i % 3 === 0 ? 'alice' : 'bob', at: start + i * (DAY_MS / 2), status: STATUSES[i % 4] })),
    ...Array.from({ length: 8 }, (_, i) => ({ clientId: DEV, who: 'alice', at: start + i * DAY_MS + 3_600_000, status: STATUSES[i % 4] })),
  ];
  const seeded: Seeded[] = [];
  for (const p of plan) {
    const o = { id: v7({ msecs: p.at }), clientId: p.clientId, status: p.status, email: p.who, createdAt: new Date(p.at) };
    await insertOrder(db, o, customers[`${p.clientId}/${p.who}`]);
    seeded.push(o);
  }
  return seeded;
}

const newestFirst = (orders: Seeded[]): string[] => orders.map((o) => o.id).sort((a, b) => (a < b ? 1 : -1));

describe('GET /api/orders (real OpenID provider and MariaDB)', () => {
  let t: TestApp;
  let partner: string;
  let reader: string;
  let seeded: Seeded[];

  beforeAll(async () => {
    t = await startTestApp({ layers: ['experience'], groups: [] });
    partner = await issueTestToken({ issuer: t.op.issuer, clientId: PARTNER, clientSecret: 'partner-secret', scope: 'orders.read orders.write' });
    reader = await issueTestToken({ issuer: t.op.issuer, clientId: 'order-flow-reader', clientSecret: 'reader-secret', scope: 'orders.read' });
    seeded = await seed(t.dataSource);
  });
  afterAll(async () => {
    await t?.close();
  });

  const list = (token: string, query: Record<string, string | number | string[]>) =>
    request(t.url).get('/api/orders').query(query).set({ Authorization: `Bearer ${token}` });
  const ids = (body: { items: Array<{ orderId: string }> }): string[] => body.items.map((i) => i.orderId);
  const partners = (where: (o: Seeded) => boolean = () => true): Seeded[] => seeded.filter((o) => o.clientId === PARTNER && where(o));

  /** Every page of a listing, following nextCursor, and each page's size. */
  async function allPages(token: string, query: Record<string, string | number | string[]>): Promise<{ ids: string[]; sizes: number[] }> {
    const all: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const res: request.Response = await list(token, cursor ? { ...query, cursor } : query).expect(200);
      all.push(...ids(res.body));
      sizes.push(res.body.items.length);
      cursor = res.body.nextCursor;
    } while (cursor && sizes.length < 100);
    return { ids: all, sizes };
  }

  it('lists the caller’s orders newest first, 50 by default, with their summary', async () => {
    const res = await list(partner, MARCH).expect(200);
    expect(res.body.items).toHaveLength(50);
    expect(ids(res.body)).toEqual(newestFirst(partners()).slice(0, 50));
    expect(typeof res.body.nextCursor).toBe('string');
    const newest = partners().at(-1) as Seeded;
    expect(res.body.items[0]).toEqual({
      orderId: newest.id,
      status: newest.status,
      ...(newest.status === 'PAYMENT_FAILED' ? { reason: 'PAYMENT_DECLINED' } : {}),
      total: 19.99,
      currency: 'EUR',
      createdAt: newest.createdAt.toISOString(),
      updatedAt: new Date(newest.createdAt.getTime() + 1000).toISOString(),
    });
  });

  it('pages through every order with the cursor: no duplicates, no gaps, null after the last page', async () => {
    const { ids: listed, sizes } = await allPages(partner, { ...MARCH, limit: 7 });
    expect(listed).toEqual(newestFirst(partners()));
    expect(new Set(listed).size).toBe(listed.length);
    expect(sizes).toEqual([7, 7, 7, 7, 7, 7, 7, 7, 4]);
  });

  it('a page that ends exactly at the last order has a null cursor', async () => {
    const res = await list(partner, { ...MARCH, status: 'SHIPPED', limit: 15 }).expect(200);
    expect(res.body.items).toHaveLength(15);
    expect(res.body.nextCursor).toBeNull();
  });

  it('filters by status, any of several', async () => {
    const one = await allPages(partner, { ...MARCH, status: 'CANCELLED', limit: 4 });
    expect(one.ids).toEqual(newestFirst(partners((o) => o.status === 'CANCELLED')));
    const two = await allPages(partner, { ...MARCH, status: ['SHIPPED', 'PAYMENT_FAILED'], limit: 200 });
    expect(two.ids).toEqual(newestFirst(partners((o) => o.status === 'SHIPPED' || o.status === 'PAYMENT_FAILED')));
  });

  it('createdFrom is inclusive and createdTo exclusive, with Z or an offset', async () => {
    const from = partners()[10].createdAt;
    const to = partners()[20].createdAt;
    const expected = newestFirst(partners((o) => o.createdAt >= from && o.createdAt < to));
    expect(expected).toHaveLength(10);
    expect(ids((await list(partner, { createdFrom: from.toISOString(), createdTo: to.toISOString() }).expect(200)).body)).toEqual(expected);
    const plusTwo = (d: Date) => new Date(d.getTime() + 2 * 3_600_000).toISOString().replace('Z', '+02:00');
    expect(ids((await list(partner, { createdFrom: plusTwo(from), createdTo: plusTwo(to) }).expect(200)).body)).toEqual(expected);
    // Only one bound: everything since, or everything before (the March orders of the partner).
    expect((await allPages(partner, { createdFrom: partners()[55].createdAt.toISOString(), limit: 200 })).ids).toEqual(expect.arrayContaining(newestFirst(partners().slice(55))));
    expect(ids((await list(partner, { createdTo: partners()[5].createdAt.toISOString(), limit: 200 }).expect(200)).body)).toEqual(newestFirst(partners().slice(0, 5)));
  });

  it('filters by customer email, case-insensitively, among the caller’s own customers', async () => {
    const { ids: listed } = await allPages(partner, { customerEmail: 'ALICE.SEED@example.COM', limit: 9 });
    expect(listed).toEqual(newestFirst(partners((o) => o.email === 'alice')));
    // The dev client's customer with that email is another customer: not listed for the partner.
    expect(listed).not.toEqual(expect.arrayContaining([seeded.find((o) => o.clientId === DEV)!.id]));
    expect((await list(partner, { customerEmail: 'nobody@example.com' }).expect(200)).body).toEqual({ items: [], nextCursor: null });
  });

  it('combines the filters (AND)', async () => {
    const from = partners()[6].createdAt;
    const to = partners()[50].createdAt;
    const query = { status: ['SHIPPED', 'CANCELLED'], createdFrom: from.toISOString(), createdTo: to.toISOString(), customerEmail: 'bob.seed@example.com', limit: 3 };
    const expected = newestFirst(partners((o) => ['SHIPPED', 'CANCELLED'].includes(o.status) && o.createdAt >= from && o.createdAt < to && o.email === 'bob'));
    expect(expected.length).toBeGreaterThan(6);
    expect((await allPages(partner, query)).ids).toEqual(expected);
  });

  it('orders.admin sees every client’s orders; another client sees none of the others’', async () => {
    expect((await allPages(t.token, { ...MARCH, limit: 200 })).ids).toEqual(newestFirst(seeded));
    expect((await allPages(t.token, { ...MARCH, customerEmail: 'alice.seed@example.com', status: 'SHIPPED' })).ids).toEqual(
      newestFirst(seeded.filter((o) => o.email === 'alice' && o.status === 'SHIPPED')),
    );
    expect((await list(reader, MARCH).expect(200)).body).toEqual({ items: [], nextCursor: null });
  });

  it('an order placed through the API is listed for its owner and an admin, not for another client', async () => {
    const email = `listing-${Date.now()}@example.com`;
    const placed = await request(t.url)
      .post('/api/orders')
      .set({ Authorization: `Bearer ${partner}` })
      .send(validOrderBody({ customer: { name: 'Listed', email } }))
      .expect(202);
    const mine = (await list(partner, { customerEmail: email }).expect(200)).body;
    expect(mine.items).toEqual([expect.objectContaining({ orderId: placed.body.orderId, status: 'RECEIVED', currency: 'EUR' })]);
    expect(ids((await list(t.token, { customerEmail: email }).expect(200)).body)).toEqual([placed.body.orderId]);
    expect(ids((await list(reader, { customerEmail: email }).expect(200)).body)).toEqual([]);
    expect(ids((await list(partner, { limit: 200 }).expect(200)).body)).toContain(placed.body.orderId);
    expect(ids((await list(reader, { limit: 200 }).expect(200)).body)).not.toContain(placed.body.orderId);
  });

  describe('400 naming the bad parameter', () => {
    const cursorOf = async (query: Record<string, string | string[]>) => (await list(partner, { ...query, limit: 2 }).expect(200)).body.nextCursor as string;

    it.each<[string, Record<string, string | number | string[]>, string]>([
      ['limit 0', { limit: '0' }, 'limit'],
      ['limit above 200', { limit: '201' }, 'limit'],
      ['limit not a number', { limit: 'ten' }, 'limit'],
      ['limit not an integer', { limit: '2.5' }, 'limit'],
      ['limit empty', { limit: '' }, 'limit'],
      ['limit twice', { limit: ['5', '6'] }, 'limit'],
      ['an unknown status', { status: 'LOST' }, 'status'],
      ['an unknown status among known ones', { status: ['SHIPPED', 'shipped'] }, 'status'],
      ['a date without time', { createdFrom: '2021-03-01' }, 'createdFrom'],
      ['a date-time without offset', { createdTo: '2021-03-01T00:00:00' }, 'createdTo'],
      ['a date that does not exist', { createdFrom: '2021-02-30T00:00:00Z' }, 'createdFrom'],
      ['garbage for a date', { createdTo: 'yesterday' }, 'createdTo'],
      ['createdFrom after createdTo', { createdFrom: '2021-03-02T00:00:00Z', createdTo: '2021-03-01T00:00:00Z' }, 'createdFrom'],
      ['an empty email', { customerEmail: '' }, 'customerEmail'],
      ['a garbage cursor', { cursor: 'not-a-cursor' }, 'cursor'],
      ['an unknown parameter', { sort: 'createdAt' }, 'sort'],
    ])('%s', async (_case, query, field) => {
      const res = await list(partner, query).expect(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    });

    it('a tampered cursor, and a cursor used with other filters', async () => {
      const cursor = await cursorOf({ ...MARCH, status: 'SHIPPED' });
      const flipped = cursor.slice(0, 10) + (cursor[10] === 'A' ? 'B' : 'A') + cursor.slice(11);
      const queries: Array<Record<string, string>> = [
        { ...MARCH, status: 'SHIPPED', cursor: flipped },
        { ...MARCH, status: 'CANCELLED', cursor },
        { ...MARCH, cursor },
        { status: 'SHIPPED', cursor },
      ];
      for (const query of queries) {
        const res = await list(partner, query).expect(400);
        expect(res.body.errors).toEqual([{ field: 'cursor', message: expect.stringContaining('same filters') }]);
      }
      // The same filters spelled otherwise (another offset, statuses reordered) keep the cursor valid.
      const two = await cursorOf({ ...MARCH, status: ['SHIPPED', 'CANCELLED'] });
      await list(partner, { createdFrom: '2021-03-01T01:00:00+01:00', createdTo: MARCH.createdTo, status: ['CANCELLED', 'SHIPPED'], cursor: two }).expect(200);
    });

    it('several bad parameters are all named at once', async () => {
      const res = await list(partner, { limit: '0', status: 'LOST', createdFrom: 'soon' }).expect(400);
      expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['createdFrom', 'limit', 'status']);
    });
  });

  describe('query plans (EXPLAIN): each listing is a range or lookup on the index made for it, never a table scan', () => {
    const day = (d: number) => new Date(Date.UTC(2021, 2, d));
    const EVERY_STATUS = ORDER_STATUSES.map(() => 'ix_orders_status');
    const cases: Array<[string, Partial<OrderListFilter>, string[]]> = [
      // A client's orders in any status: one scan of the status index per status, merged.
      ['a client, newest first', { owner: PARTNER }, EVERY_STATUS],
      ['a client, after a cursor', { owner: PARTNER, beforeId: v7() }, EVERY_STATUS],
      ['a client, a date range', { owner: PARTNER, createdFrom: day(2), createdTo: day(9) }, EVERY_STATUS],
      ['a client, one status', { owner: PARTNER, statuses: ['SHIPPED'] }, ['ix_orders_status']],
      ['a client, two statuses (merged)', { owner: PARTNER, statuses: ['SHIPPED', 'CANCELLED'] }, ['ix_orders_status', 'ix_orders_status']],
      ['a client, an email', { owner: PARTNER, customerEmail: 'alice.seed@example.com' }, ['ix_customers_client_email', 'ix_orders_customer']],
      ['admin, one status', { owner: null, statuses: ['CANCELLED'] }, ['ix_orders_status']],
      ['admin, an email', { owner: null, customerEmail: 'alice.seed@example.com' }, ['ix_customers_email', 'ix_orders_customer']],
      ['admin, a date range', { owner: null, createdFrom: day(2), createdTo: day(9) }, ['PRIMARY']],
    ];

    it.each(cases)('%s', async (_name, filter, keys) => {
      const { sql, params } = listStatement({ owner: null, statuses: [], limit: 51, ...filter });
      const plan: Array<{ table: string; type: string; key: string | null; Extra: string }> = await t.dataSource.query(`EXPLAIN ${sql}`, params);
      // A derived table is the merge of the per-status pages: at most `limit` rows each.
      const reads = plan.filter((step) => !step.table.startsWith('<derived'));
      expect(reads.map((step) => step.key)).toEqual(keys);
      for (const step of reads) expect(['ref', 'range', 'eq_ref']).toContain(step.type);
      // The orders come in index order: only the few rows of an email's customers are sorted.
      if (!filter.customerEmail) expect(reads.filter((step) => step.Extra.includes('filesort'))).toEqual([]);
    });
  });
});
