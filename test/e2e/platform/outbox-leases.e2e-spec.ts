import type { ConfigType } from '@nestjs/config';
import { Kafka, logLevel, type TopicMessages } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { parseDatabaseUrl } from '../../../src/config/database.config.js';
import type { outboxConfig } from '../../../src/config/outbox.config.js';
import { HEADER_CORRELATION_ID, HEADER_EVENT_TYPE } from '../../../src/contracts/envelope.js';
import { buildDataSourceOptions } from '../../../src/platform/database/database-options.js';
import { KafkaProducerService, type SendOptions } from '../../../src/platform/messaging/kafka-producer.service.js';
import { OutboxRelayService } from '../../../src/platform/messaging/outbox-relay.service.js';
import { shardOf } from '../../../src/platform/messaging/outbox.service.js';
import { eventually } from '../../support/eventually.js';
import { TopicReader } from '../../support/topic-reader.js';

type OutboxCfg = ConfigType<typeof outboxConfig>;

const SHARDS = 16;
/** Poll interval and publish timeout of these relays: a hung replica's shards are free within 2 × 1 s + 1 s. */
const cfg: OutboxCfg = { pollIntervalMs: 1000, publishTimeoutMs: 1000, batchSize: 500, shards: SHARDS, relayConcurrency: 1, retryBackoffMaxMs: 1000 };
const BOUND_MS = 2 * cfg.pollIntervalMs + cfg.publishTimeoutMs;

/**
 * A replica's producer, as the relay sees it: the real one, with every send recorded. `freeze()`
 * makes the next sends hang with the replica (SIGSTOP): they neither answer nor time out, and the
 * relay is stuck in them. `thaw()` lets them go on: they reach the broker late, as a stopped
 * process's would once it is continued.
 */
class ReplicaProducer {
  readonly sends: Array<{ at: number; orders: string[] }> = [];
  private frozen: Promise<void> | null = null;
  private continue: () => void = () => undefined;

  constructor(readonly real: KafkaProducerService) {}

  freeze(): void {
    this.frozen = new Promise<void>((resolve) => (this.continue = resolve));
  }

  thaw(): void {
    this.frozen = null;
    this.continue();
  }

  readonly service = {
    sendBatch: async (topicMessages: TopicMessages[], options?: SendOptions): Promise<void> => {
      this.sends.push({ at: Date.now(), orders: topicMessages.flatMap((t) => t.messages.map((m) => String(m.key))) });
      const frozen = this.frozen;
      if (frozen) {
        await frozen;
        return this.real.sendBatch(topicMessages);
      }
      return this.real.sendBatch(topicMessages, options);
    },
  } as unknown as KafkaProducerService;
}

/** A replica's relay: its own database pool, its own producer, the same database and broker. */
interface Replica {
  relay: OutboxRelayService;
  producer: ReplicaProducer;
  dataSource: DataSource;
}

/**
 * Two relays (replicas) on the real MariaDB and Kafka, one of them hung in the middle of a send.
 * Its shards must be taken over within two poll intervals plus the publish timeout, with each
 * order's messages still in commit order; it must hold no database lock while it hangs; and the
 * rows of its shards must not keep the other from publishing its own.
 */
describe('Outbox relay replicas, one hung mid-send (real Kafka and MariaDB)', () => {
  const url = process.env.DATABASE_URL ?? 'mariadb://root@127.0.0.1:3306/order_flow_test';
  const topic = `relay-leases-${randomUUID().slice(0, 8)}`;
  const kafka = new Kafka({ clientId: 'relay-leases-test', brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(','), logLevel: logLevel.NOTHING });
  let db: DataSource;
  let reader: TopicReader;
  let replicas: Replica[] = [];

  const replica = async (overrides: Partial<OutboxCfg> = {}): Promise<Replica> => {
    const dataSource = await new DataSource({ ...buildDataSourceOptions({ ...parseDatabaseUrl(url), poolSize: 4 }), migrations: [] }).initialize();
    const producer = new ReplicaProducer(new KafkaProducerService(kafka));
    const r = { relay: new OutboxRelayService(dataSource, producer.service, { ...cfg, ...overrides }), producer, dataSource };
    replicas.push(r);
    return r;
  };

  /** An order id whose messages land in `shard`. */
  const orderIn = (shard: number): string => {
    for (;;) {
      const id = randomUUID();
      if (shardOf(id, SHARDS) === shard) return id;
    }
  };

  /** Commits messages, in this order, each one `{ orderId, seq }` (seq counts per order from 1). */
  const seqs = new Map<string, number>();
  const commit = async (orderIds: string[]): Promise<void> => {
    const rows = orderIds.map((orderId) => {
      const seq = (seqs.get(orderId) ?? 0) + 1;
      seqs.set(orderId, seq);
      const headers = { [HEADER_CORRELATION_ID]: `leases-${orderId}`, [HEADER_EVENT_TYPE]: 'OrderStatusChanged' };
      return [shardOf(orderId, SHARDS), topic, orderId, randomUUID(), 'OrderStatusChanged', JSON.stringify(headers), JSON.stringify({ orderId, seq })];
    });
    await db.query(
      `INSERT INTO outbox (shard, topic, message_key, event_id, event_type, headers, payload) VALUES ${rows.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
      rows.flat(),
    );
  };

  const seqsOf = (orderId: string): number[] => reader.forOrder(orderId).map((m) => (m.value as { seq: number }).seq);
  const left = async (orderIds: string[]): Promise<number> =>
    Number((await db.query(`SELECT COUNT(*) AS n FROM outbox WHERE message_key IN (${orderIds.map(() => '?').join(',')})`, orderIds))[0].n);

  beforeAll(async () => {
    db = await new DataSource({ ...buildDataSourceOptions({ ...parseDatabaseUrl(url), poolSize: 3 }), migrations: [] }).initialize();
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    reader = await new TopicReader([topic]).start();
  });
  beforeEach(async () => {
    // Only these relays run in this suite: rows left by earlier suites would go to their topics.
    await db.query('DELETE FROM outbox');
    await db.query('UPDATE outbox_shards SET lease_owner = NULL, lease_until = NULL');
    replicas = [];
  });
  afterEach(async () => {
    for (const r of replicas) r.producer.thaw();
    for (const r of replicas) {
      await r.relay.onApplicationShutdown();
      await r.producer.real.onApplicationShutdown();
      await r.dataSource.destroy();
    }
  });
  afterAll(async () => {
    await reader?.stop();
    await db?.query('UPDATE outbox_shards SET lease_owner = NULL, lease_until = NULL');
    await db?.destroy();
  });

  it('takes over the shards of a replica hung mid-send within 2 poll intervals plus the publish timeout, and publishes every message in order per order', async () => {
    const orders = [orderIn(2), orderIn(5), orderIn(5), orderIn(11)];
    for (let i = 0; i < 4; i++) await commit(orders); // interleaved: 1 of each, 2 of each, …

    const hung = await replica();
    hung.producer.freeze();
    hung.relay.kick();
    await eventually(
      () => hung.producer.sends.length,
      (n) => n === 1,
      { what: 'the first replica to start its send' },
    );
    const hungAt = hung.producer.sends[0].at;

    const other = await replica();
    other.relay.onApplicationBootstrap();
    await eventually(() => orders.every((o) => seqsOf(o).length >= 4), Boolean, { what: "every message of the hung replica's shards", timeoutMs: 15_000 });
    const tookOver = other.producer.sends.find((s) => s.orders.length)!.at - hungAt;
    expect(tookOver).toBeLessThanOrEqual(BOUND_MS);
    for (const o of orders) expect(seqsOf(o)).toEqual([1, 2, 3, 4]);
    await eventually(
      () => left(orders),
      (n) => n === 0,
      { what: 'the published rows deleted by the replica that took over' },
    );

    // Each order goes on; then the hung replica is continued and its old send lands after all that.
    await commit(orders);
    await eventually(() => orders.every((o) => seqsOf(o).length === 5), Boolean, { what: 'the next message of every order' });
    hung.producer.thaw();
    await eventually(() => orders.every((o) => seqsOf(o).length === 9), Boolean, { what: 'the late copies of the continued replica' });
    await hung.relay.onApplicationShutdown();
    for (const o of orders) {
      // The late batch repeats what already left (the consumers' inboxes drop it): the first copies
      // are in commit order, and nothing was lost.
      expect(seqsOf(o)).toEqual([1, 2, 3, 4, 5, 1, 2, 3, 4]);
      expect([...new Set(seqsOf(o))]).toEqual([1, 2, 3, 4, 5]);
    }
    expect(await left(orders)).toBe(0);
    expect(Number((await db.query('SELECT COUNT(*) AS n FROM outbox_shards WHERE lease_owner IS NOT NULL'))[0].n)).toBe(0);
  });

  it('publishes its own rows while the rows in front of them belong to shards another replica holds', async () => {
    const held = orderIn(3);
    const own = orderIn(7);
    await commit(Array.from({ length: 5 }, () => held));

    // The hung replica's lease outlasts the test (its timeout is 30 s).
    const hung = await replica({ publishTimeoutMs: 30_000 });
    hung.producer.freeze();
    hung.relay.kick();
    await eventually(
      () => hung.producer.sends.length,
      (n) => n === 1,
      { what: 'the first replica to start its send' },
    );

    // More than a batch of the held shard's rows come first; then the other replica's own.
    await commit(Array.from({ length: 10 }, () => held));
    await commit([own, own, own]);
    const other = await replica({ batchSize: 5 });
    other.relay.kick();
    await eventually(
      () => seqsOf(own),
      (s) => s.length === 3,
      { what: "the other replica's own messages", timeoutMs: 10_000 },
    );
    expect(seqsOf(own)).toEqual([1, 2, 3]);
    expect(seqsOf(held)).toEqual([]);
    expect(await left([held])).toBe(15);
  });

  it('holds no lock while a send hangs: the shard and its rows can be locked at once, and claimed within the bound', async () => {
    const orderId = orderIn(9);
    await commit([orderId, orderId]);
    const hung = await replica();
    hung.producer.freeze();
    hung.relay.kick();
    await eventually(
      () => hung.producer.sends.length,
      (n) => n === 1,
      { what: 'the replica to start its send' },
    );
    const hungAt = hung.producer.sends[0].at;

    const probe = db.createQueryRunner();
    try {
      await probe.query('SET SESSION innodb_lock_wait_timeout = 1');
      await probe.query('START TRANSACTION');
      await expect(probe.query('SELECT shard FROM outbox_shards WHERE shard = 9 FOR UPDATE NOWAIT')).resolves.toEqual([{ shard: 9 }]);
      await expect(probe.query('SELECT id FROM outbox WHERE shard = 9 FOR UPDATE NOWAIT')).resolves.toHaveLength(2);
      await probe.query('COMMIT');

      // The hung replica's lease runs out by the database's clock; then anyone may claim the shard.
      await eventually(
        async () => (await probe.query("UPDATE outbox_shards SET lease_owner = 'probe' WHERE shard = 9 AND (lease_until IS NULL OR lease_until <= UTC_TIMESTAMP(3))")).affectedRows,
        (n) => n === 1,
        { what: 'the shard claimable', intervalMs: 20, timeoutMs: 10_000 },
      );
      expect(Date.now() - hungAt).toBeLessThanOrEqual(BOUND_MS);
    } finally {
      await probe.query('ROLLBACK').catch(() => undefined);
      await probe.release();
    }
  });
});
