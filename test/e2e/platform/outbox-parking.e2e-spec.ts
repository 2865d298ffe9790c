import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { HEADER_CORRELATION_ID, HEADER_EVENT_TYPE } from '../../../src/contracts/envelope.js';
import { OutboxRelayService } from '../../../src/platform/messaging/outbox-relay.service.js';
import { eventually } from '../../support/eventually.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';
import { TopicReader } from '../../support/topic-reader.js';

/**
 * The relay against the real broker and database. A message the broker refuses (larger than its 1 MB
 * message.max.bytes) must not hold up the messages behind it in its shard: the relay parks it with
 * the broker's answer and goes on. A shard another replica's pass leases is left to that pass.
 */
describe('Outbox relay: refused messages and shards held elsewhere (real Kafka and MariaDB)', () => {
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

  it('parks the refused message with the reason, publishes the ones after it, and reports it in /metrics', async () => {
    const tooBig = randomUUID();
    const after = randomUUID();
    const correlationId = `parking-${randomUUID()}`;
    const headers = (eventType: string) => JSON.stringify({ [HEADER_CORRELATION_ID]: correlationId, [HEADER_EVENT_TYPE]: eventType });
    const insert = (orderId: string, payload: string) =>
      t.dataSource.query('INSERT INTO outbox (shard, topic, message_key, event_id, event_type, headers, payload) VALUES (0, ?, ?, ?, ?, ?, ?)', [
        'order-status',
        orderId,
        randomUUID(),
        'OrderStatusChanged',
        headers('OrderStatusChanged'),
        payload,
      ]);
    await insert(tooBig, JSON.stringify({ orderId: tooBig, padding: 'x'.repeat(1_200_000) }));
    await insert(after, JSON.stringify({ orderId: after }));
    t.app.get(OutboxRelayService).kick();

    const published = await reader.waitFor((m) => m.key === after, 'the message behind the refused one on order-status', 30000);
    expect(published.value).toEqual({ orderId: after });
    expect(published.headers[HEADER_CORRELATION_ID]).toBe(correlationId);

    // The pass publishes before it commits (at least once): its park and delete show right after.
    const parked = await eventually(
      async () => (await t.dataSource.query('SELECT parked_at, last_error FROM outbox WHERE message_key = ?', [tooBig]))[0],
      (row) => row?.parked_at != null,
      { what: 'the refused message parked' },
    );
    expect(parked.parked_at).toBeInstanceOf(Date);
    expect(parked.last_error).toMatch(/^MESSAGE_TOO_LARGE: /);
    await eventually(
      async () => Number((await t.dataSource.query('SELECT COUNT(*) AS n FROM outbox WHERE message_key = ?', [after]))[0].n),
      (n) => n === 0,
      { what: 'the published message deleted from the outbox' },
    );
    expect(reader.forOrder(tooBig)).toEqual([]);

    const metrics = await eventually(
      async () => (await request(t.url).get('/metrics').expect(200)).text,
      (text) => /^order_flow_outbox_parked_messages [1-9]\d*$/m.test(text),
      { what: 'the parked message in /metrics' },
    );
    expect(metrics).toMatch(/^order_flow_outbox_backlog_messages \d+$/m);

    // An operator who fixes the row releases it by clearing parked_at; here it is removed instead.
    await t.dataSource.query('DELETE FROM outbox WHERE message_key = ?', [tooBig]);
  });

  it('leaves the shard another replica leases to it, and publishes it once that lease is given back', async () => {
    const [held, free] = [randomUUID(), randomUUID()];
    const insert = (shard: number, orderId: string) =>
      t.dataSource.query('INSERT INTO outbox (shard, topic, message_key, event_id, event_type, headers, payload) VALUES (?, ?, ?, ?, ?, ?, ?)', [
        shard,
        'order-status',
        orderId,
        randomUUID(),
        'OrderStatusChanged',
        JSON.stringify({ [HEADER_CORRELATION_ID]: `shard-lease-${orderId}`, [HEADER_EVENT_TYPE]: 'OrderStatusChanged' }),
        JSON.stringify({ orderId }),
      ]);
    const left = async (orderId: string) => Number((await t.dataSource.query('SELECT COUNT(*) AS n FROM outbox WHERE message_key = ?', [orderId]))[0].n);

    // Another replica's pass leases shard 1, as the relay leases it.
    await t.dataSource.query("UPDATE outbox_shards SET lease_owner = 'other-replica#1', lease_until = UTC_TIMESTAMP(3) + INTERVAL 1 MINUTE WHERE shard = 1");
    try {
      await insert(1, held);
      await insert(2, free);
      t.app.get(OutboxRelayService).kick();

      await reader.waitFor((m) => m.key === free, 'the message of the free shard', 30000);
      await eventually(() => left(free), (n) => n === 0, { what: 'the published message deleted' });
      expect(await left(held)).toBe(1);
      expect(reader.forOrder(held)).toEqual([]);
      const [lease] = await t.dataSource.query('SELECT lease_owner FROM outbox_shards WHERE shard = 1');
      expect(lease.lease_owner).toBe('other-replica#1');
    } finally {
      await t.dataSource.query("UPDATE outbox_shards SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = 'other-replica#1'");
    }

    t.app.get(OutboxRelayService).kick();
    const published = await reader.waitFor((m) => m.key === held, 'the message of the shard once let go', 30000);
    expect(published.value).toEqual({ orderId: held });
    await eventually(() => left(held), (n) => n === 0, { what: 'the message of the held shard deleted' });
    expect(reader.forOrder(held)).toHaveLength(1);
  });
});
