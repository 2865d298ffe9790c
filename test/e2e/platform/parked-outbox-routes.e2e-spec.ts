import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { issueTestToken } from '../../../scripts/oidc-provider.mjs';
import { HEADER_CORRELATION_ID, HEADER_EVENT_TYPE } from '../../../src/contracts/envelope.js';
import { eventually } from '../../support/eventually.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';
import { TopicReader } from '../../support/topic-reader.js';

/**
 * The operator routes for parked outbox messages (scope orders.admin), against the real relay,
 * broker and database: a message the broker refused is listed with the broker's answer, and once
 * fixed, a release hands it back to the relay, which publishes it.
 */
describe('operator routes: parked outbox messages (real Kafka and MariaDB)', () => {
  let t: TestApp;
  let reader: TopicReader;

  beforeAll(async () => {
    t = await startTestApp({ layers: ['experience'], groups: [] });
    reader = await new TopicReader(['order-status']).start();
  });
  afterAll(async () => {
    await reader?.stop();
    await t?.close();
  });

  /** Stages an OrderStatusChanged for `orderId` as the outbox does, with `payload` as its value; `parked` sets it aside at once. */
  async function stage(orderId: string, payload: string, parked = false): Promise<{ id: string; eventId: string }> {
    const eventId = randomUUID();
    const headers = JSON.stringify({ [HEADER_CORRELATION_ID]: `parked-${orderId}`, [HEADER_EVENT_TYPE]: 'OrderStatusChanged' });
    const result = await t.dataSource.query(
      `INSERT INTO outbox (shard, topic, message_key, event_id, event_type, headers, payload, parked_at, last_error, attempts)
       VALUES (0, 'order-status', ?, ?, 'OrderStatusChanged', ?, ?, ${parked ? "NOW(3), 'INVALID_RECORD: test', 1" : 'NULL, NULL, 0'})`,
      [orderId, eventId, headers, payload],
    );
    return { id: String(result.insertId), eventId };
  }
  const outboxRow = async (id: string) => (await t.dataSource.query('SELECT parked_at, last_error FROM outbox WHERE id = ?', [id]))[0];

  it('lists the message the broker refused with its reason, and publishes it once fixed and released', async () => {
    const orderId = randomUUID();
    const { id, eventId } = await stage(orderId, JSON.stringify({ orderId, padding: 'x'.repeat(1_200_000) }));

    const listed = await eventually(
      async () => (await t.get('/api/admin/outbox/parked').expect(200)).body,
      (body) => body.items.some((m: { id: string }) => m.id === id),
      { what: 'the refused message in the parked listing', timeoutMs: 30000 },
    );
    expect(listed.count).toBeGreaterThanOrEqual(1);
    const item = listed.items.find((m: { id: string }) => m.id === id);
    expect(item).toEqual({
      id,
      topic: 'order-status',
      orderId,
      eventType: 'OrderStatusChanged',
      eventId,
      createdAt: expect.any(String),
      parkedAt: expect.any(String),
      lastError: expect.stringMatching(/^MESSAGE_TOO_LARGE: /),
      attempts: expect.any(Number),
    });
    expect(Date.parse(item.parkedAt)).toBeGreaterThanOrEqual(Date.parse(item.createdAt));
    expect(reader.forOrder(orderId)).toEqual([]);

    // The operator's fix: the payload made publishable. Then the release.
    await t.dataSource.query('UPDATE outbox SET payload = ? WHERE id = ?', [JSON.stringify({ orderId, fixed: true }), id]);
    const released = await t.post(`/api/admin/outbox/parked/${id}/release`, undefined).expect(200);
    expect(released.body).toMatchObject({ id, orderId, eventId, lastError: item.lastError, parkedAt: item.parkedAt });

    const published = await reader.waitFor((m) => m.key === orderId, 'the released message on order-status', 30000);
    expect(published.value).toEqual({ orderId, fixed: true });
    await eventually(
      () => outboxRow(id),
      (row) => row === undefined,
      { what: 'the published message deleted from the outbox' },
    );
    expect((await t.get('/api/admin/outbox/parked').expect(200)).body.items.map((m: { id: string }) => m.id)).not.toContain(id);

    // Gone from the outbox: nothing to release any more.
    const again = await t.post(`/api/admin/outbox/parked/${id}/release`, undefined).expect(404);
    expect(again.body).toMatchObject({ code: 'NOT_FOUND', detail: `no parked outbox message ${id}` });
    expect(reader.forOrder(orderId)).toHaveLength(1);
  });

  it('lists at most limit messages in outbox order, with how many are parked', async () => {
    const staged = [await stage(randomUUID(), '{}', true), await stage(randomUUID(), '{}', true), await stage(randomUUID(), '{}', true)];
    try {
      const all = (await t.get('/api/admin/outbox/parked?limit=1000').expect(200)).body;
      const ids = all.items.map((m: { id: string }) => m.id);
      expect(ids).toEqual(expect.arrayContaining(staged.map((s) => s.id)));
      expect(ids.map(BigInt)).toEqual([...ids.map(BigInt)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      expect(all.count).toBe(ids.length);
      const first = (await t.get('/api/admin/outbox/parked?limit=1').expect(200)).body;
      expect(first).toEqual({ count: all.count, items: [all.items[0]] });
    } finally {
      await t.dataSource.query(
        `DELETE FROM outbox WHERE id IN (${staged.map(() => '?').join(',')})`,
        staged.map((s) => s.id),
      );
    }
  });

  it('refuses a client without orders.admin, an unknown or unparked id and bad input, and releases nothing', async () => {
    const parked = await stage(randomUUID(), '{}', true);
    try {
      const readerToken = await issueTestToken({ issuer: t.op.issuer, clientId: 'order-flow-reader', clientSecret: 'reader-secret', scope: 'orders.read' });
      const writerToken = await issueTestToken({ issuer: t.op.issuer, scope: 'orders.read orders.write' });
      for (const token of [readerToken, writerToken]) {
        const asNonAdmin = { Authorization: `Bearer ${token}` };
        for (const res of [
          await request(t.url).get('/api/admin/outbox/parked').set(asNonAdmin),
          await request(t.url).post(`/api/admin/outbox/parked/${parked.id}/release`).set(asNonAdmin),
        ]) {
          expect(res.status).toBe(403);
          expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
          expect(res.body).toMatchObject({ code: 'FORBIDDEN', detail: 'This needs the scope(s): orders.admin' });
        }
      }
      expect((await request(t.url).get('/api/admin/outbox/parked')).status).toBe(401);
      expect((await request(t.url).post(`/api/admin/outbox/parked/${parked.id}/release`)).status).toBe(401);
      expect((await outboxRow(parked.id)).parked_at).toBeInstanceOf(Date);

      const unparked = await stage(randomUUID(), '{}');
      for (const id of ['999999999999999', '9223372036854775807']) {
        const res = await t.post(`/api/admin/outbox/parked/${id}/release`, undefined).expect(404);
        expect(res.body.code).toBe('NOT_FOUND');
      }
      // Unparked: the relay publishes it (or is about to); a release has nothing to do.
      expect((await t.post(`/api/admin/outbox/parked/${unparked.id}/release`, undefined).expect(404)).body.code).toBe('NOT_FOUND');
      for (const id of ['abc', '0', '-1', '1.5', '99999999999999999999']) {
        const res = await t.post(`/api/admin/outbox/parked/${id}/release`, undefined).expect(400);
        expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', detail: 'id must be an outbox id (digits), as listed' });
      }
      for (const query of ['limit=0', 'limit=1001', 'limit=ten', 'purge=true']) {
        const res = await t.get(`/api/admin/outbox/parked?${query}`).expect(400);
        expect(res.body.code).toBe('VALIDATION_FAILED');
      }
      expect(await outboxRow(parked.id)).toMatchObject({ parked_at: expect.any(Date), last_error: 'INVALID_RECORD: test' });
    } finally {
      await t.dataSource.query('DELETE FROM outbox WHERE id = ?', [parked.id]);
    }
  });
});
