import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { KafkaJSAggregateError, KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSProtocolError, type TopicMessages } from 'kafkajs';
import type { DataSource, EntityManager } from 'typeorm';
import type { kafkaConfig } from '../../../src/config/kafka.config.js';
import type { outboxConfig } from '../../../src/config/outbox.config.js';
import { HEADER_CORRELATION_ID, HEADER_EVENT_TYPE, newEnvelope, type Envelope } from '../../../src/contracts/envelope.js';
import type { KafkaProducerService } from '../../../src/platform/messaging/kafka-producer.service.js';
import { DELETE_SENT, OutboxRelayService, refusedMessage, toTopicMessages } from '../../../src/platform/messaging/outbox-relay.service.js';
import { causedBy, OutboxService, shardOf } from '../../../src/platform/messaging/outbox.service.js';
import { SqlBatch } from '../../../src/platform/database/sql-batch.js';

/**
 * Strict doubles (STYLE #8): touching a member the double does not define is recorded and fails the
 * test in afterEach, even when the code under test swallows the thrown error (the relay catches).
 */
let unexpected: string[] = [];
function strict<T extends object>(name: string, impl: T): T {
  return new Proxy(impl, {
    get(target, prop, receiver) {
      if (prop in target) return Reflect.get(target, prop, receiver);
      if (typeof prop === 'symbol' || prop === 'then' || prop === 'asymmetricMatch' || prop === 'toJSON') return undefined;
      unexpected.push(`${name}.${prop}`);
      throw new Error(`unexpected use of ${name}.${prop}`);
    },
  });
}

const T0 = Date.UTC(2025, 0, 1, 12, 0, 0); // a whole second: a multiple of wakeAt's 50 ms buckets

interface Row {
  id: string;
  shard: number;
  topic: string;
  message_key: string;
  headers: string;
  payload: string;
  available_at: Date;
  parked_at?: Date | null;
  last_error?: string | null;
}

function row(id: number, topic: string, shard = id % 4, availableInMs = 0): Row {
  return {
    id: String(id),
    shard,
    topic,
    message_key: `order-${id}`,
    headers: JSON.stringify({ [HEADER_EVENT_TYPE]: `E${id}` }),
    payload: `{"n":${id}}`,
    available_at: new Date(T0 + availableInMs),
  };
}

/**
 * An outbox table in memory behind the statements of a pass. It answers like MariaDB would,
 * including ORDER BY and LIMIT only when the statement asks for them, and rolls back on a throw.
 */
interface OpenTransaction {
  snapshot: Row[];
  locks: Set<number>;
  parked: Row[];
}

class FakeDb {
  rows: Row[] = [];
  /** Shards another relay holds (SKIP LOCKED skips them). */
  lockedElsewhere = new Set<number>();
  /** BEGIN/COMMIT/ROLLBACK, each statement and each Kafka send, in order. */
  log: string[] = [];
  transactions = 0;
  /** Queries sent on a pass's connection (each a round trip to the database). */
  roundTrips = 0;
  active = 0;
  maxActive = 0;
  /** Holds each pass open (after its statements) until released; null: passes run straight through. */
  gate: Promise<void> | null = null;

  readonly dataSource = strict('DataSource', {
    // A pass is a LeanTransaction: statements joined by ";\n" in one round trip, START TRANSACTION and
    // COMMIT among them; ROLLBACK on its own after a failure.
    createQueryRunner: () => {
      let tx: OpenTransaction | null = null;
      const run = async (sql: string, params: unknown[] = []): Promise<unknown> => {
        this.roundTrips += 1;
        const statements = sql.split(';\n');
        const results: unknown[] = [];
        let used = 0;
        for (const statement of statements) {
          const count = (statement.match(/\?/g) ?? []).length;
          const own = params.slice(used, used + count);
          used += count;
          if (statement === 'START TRANSACTION') tx = this.begin();
          else if (statement === 'COMMIT') await this.end(tx!, 'COMMIT');
          else if (statement === 'ROLLBACK') await this.end(tx!, 'ROLLBACK');
          else if (!tx) throw new Error(`statement outside the pass's transaction: ${statement}`);
          results.push(tx && !['START TRANSACTION', 'COMMIT', 'ROLLBACK'].includes(statement) ? await this.manager(tx.locks, tx.parked).query(statement, own) : {});
          if (statement === 'COMMIT' || statement === 'ROLLBACK') tx = null;
        }
        return statements.length === 1 ? results[0] : results;
      };
      return strict('QueryRunner', {
        manager: strict('EntityManager', { query: run }),
        query: run,
        release: async () => {
          if (tx) unexpected.push('a pass released its connection with the transaction open');
        },
      });
    },
    query: async (sql: string, params: unknown[] = []): Promise<unknown> => {
      if (sql === 'SELECT COUNT(*) AS n FROM outbox WHERE parked_at IS NULL') return [{ n: String(this.rows.filter((r) => !r.parked_at).length) }];
      if (sql === 'SELECT COUNT(*) AS n FROM outbox WHERE parked_at IS NOT NULL') return [{ n: String(this.rows.filter((r) => r.parked_at).length) }];
      // Which shards have due rows is read before (and outside) the pass's transaction.
      if (sql === 'SELECT DISTINCT shard FROM outbox WHERE available_at <= ? AND parked_at IS NULL ORDER BY shard') {
        this.log.push('SELECT pending shards');
        const now = params[0] as Date;
        const shards = [...new Set(this.available(now).map((r) => r.shard))].sort((a, b) => a - b);
        return shards.map((shard) => ({ shard }));
      }
      throw new Error(`unexpected SQL outside a transaction: ${sql}`);
    },
  }) as unknown as DataSource;

  /** Shard locks of each open transaction (FOR UPDATE SKIP LOCKED skips the others'). */
  private readonly shardLocks = new Set<Set<number>>();
  /** Shards each pass locked, in the order the passes locked them. */
  lockedByPass: number[][] = [];

  private manager = (locks: Set<number>, parked: Row[]) =>
    strict('EntityManager', {
      query: async (sql: string, params: unknown[] = []): Promise<unknown> => {
        const s = sql.replace(/\s+/g, ' ').trim();
        if (s.startsWith('SELECT shard FROM outbox_shards WHERE shard IN') && s.endsWith('FOR UPDATE SKIP LOCKED')) {
          this.log.push('LOCK shards');
          const heldByOthers = (shard: number) => [...this.shardLocks].some((other) => other !== locks && other.has(shard));
          const got = (params as number[]).filter((shard) => !this.lockedElsewhere.has(shard) && !heldByOthers(shard));
          got.forEach((shard) => locks.add(shard));
          this.lockedByPass.push(got);
          return got.map((shard) => ({ shard }));
        }
        if (s.startsWith('SELECT id, shard, topic, message_key, headers, payload FROM outbox WHERE shard IN') && s.includes('AND parked_at IS NULL')) {
          this.log.push('SELECT rows');
          const limit = params.at(-1) as number;
          const now = params.at(-2) as Date;
          const shards = new Set(params.slice(0, -2) as number[]);
          let rows = this.available(now).filter((r) => shards.has(r.shard));
          if (/ORDER BY id/.test(s)) rows = rows.sort((a, b) => Number(a.id) - Number(b.id));
          if (/LIMIT \?/.test(s)) rows = rows.slice(0, limit);
          return rows.map(({ available_at: _ignored, ...r }) => ({ ...r }));
        }
        if (s === DELETE_SENT) {
          const ids = new Set((JSON.parse(params[0] as string) as Array<string | number>).map(String));
          this.log.push(`DELETE ${[...ids].join(',')}`);
          this.rows = this.rows.filter((r) => !ids.has(r.id));
          return { affectedRows: ids.size };
        }
        if (s === 'UPDATE outbox SET parked_at = NOW(3), last_error = ? WHERE id = ?') {
          const [error, id] = params as [string, string];
          this.log.push(`PARK ${id}`);
          const target = this.rows.find((r) => r.id === id);
          if (target) {
            Object.assign(target, { parked_at: new Date(), last_error: error });
            parked.push(target);
          }
          return { affectedRows: target ? 1 : 0 };
        }
        throw new Error(`unexpected SQL in a pass: ${s}`);
      },
    });

  private begin(): OpenTransaction {
    this.transactions += 1;
    this.active += 1;
    this.maxActive = Math.max(this.maxActive, this.active);
    const tx: OpenTransaction = { snapshot: [...this.rows], locks: new Set<number>(), parked: [] };
    this.shardLocks.add(tx.locks);
    this.log.push('BEGIN');
    return tx;
  }

  private async end(tx: OpenTransaction, how: 'COMMIT' | 'ROLLBACK'): Promise<void> {
    try {
      if (how === 'COMMIT') {
        if (this.gate) await this.gate;
      } else {
        // Only this transaction's deletes come back (others may have committed meanwhile).
        const deleted = tx.snapshot.filter((r) => !this.rows.includes(r) && tx.locks.has(r.shard));
        this.rows = [...this.rows, ...deleted].sort((a, b) => Number(a.id) - Number(b.id));
        tx.parked.forEach((r) => Object.assign(r, { parked_at: null, last_error: null }));
      }
      this.log.push(how);
    } finally {
      this.shardLocks.delete(tx.locks);
      this.active -= 1;
    }
  }

  private available(now: Date): Row[] {
    return this.rows.filter((r) => r.available_at.getTime() <= now.getTime() && !r.parked_at);
  }
}

class FakeProducer {
  batches: TopicMessages[][] = [];
  failWith: Error | null = null;
  /** Messages the broker refuses as too large: a batch holding one fails whole, as the broker answers. */
  refuse: (value: string) => boolean = () => false;
  /** Fails the send of a batch holding a message for which this returns true (a connection error). */
  dropOn: (value: string) => boolean = () => false;

  constructor(private readonly db: FakeDb) {}

  readonly service = strict('KafkaProducerService', {
    sendBatch: async (topicMessages: TopicMessages[]): Promise<void> => {
      if (this.failWith) {
        this.db.log.push('SEND failed');
        throw this.failWith;
      }
      const values = topicMessages.flatMap((t) => t.messages.map((m) => String(m.value)));
      if (values.some(this.dropOn)) {
        this.db.log.push('SEND failed');
        throw new KafkaJSConnectionError('Connection error: read ECONNRESET');
      }
      if (values.some(this.refuse)) {
        this.db.log.push('SEND refused');
        throw tooLarge();
      }
      this.db.log.push(`SEND ${topicMessages.flatMap((t) => t.messages.map((m) => m.value)).join(' ')}`);
      this.batches.push(topicMessages);
    },
  }) as unknown as KafkaProducerService;

  /** Payload values of every published message, in publication order. */
  get values(): string[] {
    return this.batches.flatMap((b) => b.flatMap((t) => t.messages.map((m) => String(m.value))));
  }
}

/** KafkaJS's retrier wraps the error it gives up on this way (its typings omit the second argument). */
const NonRetriable = KafkaJSNonRetriableError as unknown as new (e: Error, metadata: { cause: Error }) => Error;

/** What KafkaJS throws when the broker answers MESSAGE_TOO_LARGE: a non-retriable error caused by the protocol error. */
function tooLarge(): Error {
  const protocol = new KafkaJSProtocolError({
    type: 'MESSAGE_TOO_LARGE',
    code: 10,
    retriable: false,
    message: 'The request included a message larger than the max message size the server will accept',
  } as never);
  return new NonRetriable(protocol, { cause: protocol });
}

type OutboxCfg = ConfigType<typeof outboxConfig>;
const baseCfg: OutboxCfg = { pollIntervalMs: 1000, batchSize: 10, shards: 4, relayConcurrency: 1, retryBackoffMaxMs: 10000 };

/** Runs every pending promise continuation (setImmediate stays real, timers are fake). */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

describe('toTopicMessages', () => {
  it('groups rows by topic in order of first appearance, keeping row order inside each topic', () => {
    const rows = [row(1, 'a'), row(2, 'b'), row(3, 'a'), row(4, 'c'), row(5, 'b'), row(6, 'a')];
    const grouped = toTopicMessages(rows);
    expect(grouped.map((g) => g.topic)).toEqual(['a', 'b', 'c']);
    expect(grouped.map((g) => g.messages.map((m) => m.value))).toEqual([['{"n":1}', '{"n":3}', '{"n":6}'], ['{"n":2}', '{"n":5}'], ['{"n":4}']]);
  });

  it('keys each message by its row key and parses its headers', () => {
    const [{ messages }] = toTopicMessages([row(7, 'a')]);
    expect(messages).toEqual([{ key: 'order-7', value: '{"n":7}', headers: { [HEADER_EVENT_TYPE]: 'E7' } }]);
  });

  it('returns nothing for no rows', () => {
    expect(toTopicMessages([])).toEqual([]);
  });
});

describe('shardOf', () => {
  const ids = Array.from({ length: 2000 }, (_, i) => `${i.toString(16).padStart(8, '0')}-8d4e-4f6a-9b7c-1a2b3c4d5e6f`);

  it('is stable: the same order always maps to the same shard', () => {
    expect(ids.map((id) => shardOf(id, 16))).toEqual(ids.map((id) => shardOf(id, 16)));
    // Pinned (first 4 bytes of SHA-1, modulo): every process and release must agree on an order's shard.
    expect(shardOf('3f1c2b9a-8d4e-4f6a-9b7c-1a2b3c4d5e6f', 256)).toBe(169);
    expect(shardOf('3f1c2b9a-8d4e-4f6a-9b7c-1a2b3c4d5e6f', 16)).toBe(9);
  });

  it.each([1, 2, 7, 16, 256])('stays within [0, %i)', (shards) => {
    const outside = ids.map((id) => shardOf(id, shards)).filter((s) => !Number.isInteger(s) || s < 0 || s >= shards);
    expect(outside).toEqual([]);
  });

  it('spreads orders over every shard, none with more than twice its share', () => {
    const counts = new Array<number>(16).fill(0);
    for (const id of ids) counts[shardOf(id, 16)] += 1;
    expect(counts.every((c) => c > 0)).toBe(true);
    expect(Math.max(...counts)).toBeLessThan((2 * ids.length) / 16);
  });
});

describe('OutboxRelayService', () => {
  let db: FakeDb;
  let producer: FakeProducer;
  let relay: OutboxRelayService;

  function makeRelay(cfg: Partial<OutboxCfg> = {}): OutboxRelayService {
    relay = new OutboxRelayService(db.dataSource, producer.service, { ...baseCfg, ...cfg });
    return relay;
  }

  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'], now: T0 });
    unexpected = [];
    db = new FakeDb();
    producer = new FakeProducer(db);
  });
  afterEach(async () => {
    await relay?.onApplicationShutdown();
    jest.useRealTimers();
    expect(unexpected).toEqual([]);
  });

  it('publishes the due rows in id order, then deletes exactly those rows in the same transaction', async () => {
    db.rows = [row(5, 'a', 1), row(2, 'b', 1), row(9, 'a', 2), row(3, 'a', 2), row(4, 'a', 3, 60_000)];
    makeRelay().kick();
    await settle();

    expect(db.log).toEqual(['SELECT pending shards', 'BEGIN', 'LOCK shards', 'SELECT rows', 'SEND {"n":2} {"n":3} {"n":5} {"n":9}', 'DELETE 2,3,5,9', 'COMMIT']);
    expect(producer.batches).toHaveLength(1);
    expect(producer.batches[0].map((t) => [t.topic, t.messages.map((m) => m.key)])).toEqual([
      ['b', ['order-2']],
      ['a', ['order-3', 'order-5', 'order-9']],
    ]);
    expect(db.rows.map((r) => r.id)).toEqual(['4']); // not due yet
    expect(relay.publishedCount).toBe(4);
    // Two round trips on the pass's connection: open + lock + read, then delete + commit.
    expect(db.roundTrips).toBe(2);
  });

  it('leaves the shards another relay holds to that relay', async () => {
    db.rows = [row(1, 'a', 0), row(2, 'a', 1), row(3, 'a', 2)];
    db.lockedElsewhere.add(1);
    makeRelay().kick();
    await settle();
    expect(producer.values).toEqual(['{"n":1}', '{"n":3}']);
    expect(db.rows.map((r) => r.id)).toEqual(['2']);
  });

  it('does nothing more than look when no row is due, or every shard with work is held elsewhere', async () => {
    makeRelay().kick();
    await settle();
    // An idle relay only looks: no transaction, no lock.
    expect(db.log).toEqual(['SELECT pending shards']);

    db.log = [];
    db.rows = [row(1, 'a', 2)];
    db.lockedElsewhere.add(2);
    relay.kick();
    await settle();
    // The rows are read in the lock's round trip; those of the shard held elsewhere are left out.
    expect(db.log).toEqual(['SELECT pending shards', 'BEGIN', 'LOCK shards', 'SELECT rows', 'COMMIT']);
    expect(producer.batches).toEqual([]);
    expect(db.rows.map((r) => r.id)).toEqual(['1']);
  });

  it('when Kafka fails: rolls back without deleting anything, backs off, and a later poll retries', async () => {
    db.rows = [row(1, 'a'), row(2, 'b')];
    producer.failWith = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED');
    makeRelay().kick();
    await settle();

    expect(db.log).toEqual(['SELECT pending shards', 'BEGIN', 'LOCK shards', 'SELECT rows', 'SEND failed', 'ROLLBACK']);
    expect(db.rows.map((r) => r.id)).toEqual(['1', '2']);
    expect(relay.publishedCount).toBe(0);

    // First failure: 400 ms of backoff, during which a kick (a local commit) does not run a pass.
    producer.failWith = null;
    await jest.advanceTimersByTimeAsync(399);
    relay.kick();
    await settle();
    expect(db.transactions).toBe(1);

    await jest.advanceTimersByTimeAsync(1);
    await settle();
    expect(db.transactions).toBe(2);
    expect(producer.values).toEqual(['{"n":1}', '{"n":2}']);
    expect(db.rows).toEqual([]);
  });

  it('backs off exponentially while Kafka stays down, capped by retryBackoffMaxMs, and resets after a success', async () => {
    db.rows = [row(1, 'a')];
    producer.failWith = new KafkaJSConnectionError('down');
    makeRelay({ retryBackoffMaxMs: 1000 }).kick();
    await settle();

    const gaps: number[] = [];
    let last = Date.now();
    for (let attempt = 2; attempt <= 5; attempt++) {
      while (db.transactions < attempt) await jest.advanceTimersByTimeAsync(10);
      gaps.push(Date.now() - last);
      last = Date.now();
    }
    expect(gaps).toEqual([400, 800, 1000, 1000]);

    // Back up: the next poll publishes, and later kicks are no longer held back.
    producer.failWith = null;
    await jest.advanceTimersByTimeAsync(1000);
    expect(db.rows).toEqual([]);
    db.rows = [row(2, 'a')];
    relay.kick();
    await settle();
    expect(producer.values).toEqual(['{"n":1}', '{"n":2}']);

    // A new outage starts again from the shortest backoff.
    db.rows = [row(3, 'a')];
    producer.failWith = new KafkaJSConnectionError('down again');
    relay.kick();
    await settle();
    const failedAt = Date.now();
    const before = db.transactions;
    while (db.transactions === before) await jest.advanceTimersByTimeAsync(10);
    expect(Date.now() - failedAt).toBe(400);
  });

  it('a full batch triggers another pass at once, until a short batch', async () => {
    db.rows = [5, 4, 3, 2, 1].map((id) => row(id, 'a', 0));
    makeRelay({ batchSize: 2 }).kick();
    await settle();
    expect(producer.batches.map((b) => b[0].messages.map((m) => m.key))).toEqual([['order-1', 'order-2'], ['order-3', 'order-4'], ['order-5']]);
    expect(db.transactions).toBe(3); // the short third batch ends the loop, no timer involved
    expect(db.log.filter((l) => l.startsWith('DELETE'))).toEqual(['DELETE 1,2', 'DELETE 3,4', 'DELETE 5']);
  });

  it('kicks during a pass coalesce into one more pass, never two passes at once', async () => {
    db.rows = [row(1, 'a')];
    let open!: () => void;
    db.gate = new Promise<void>((resolve) => (open = resolve));
    makeRelay().kick();
    await settle();
    db.rows.push(row(2, 'a'));
    relay.kick();
    relay.kick();
    relay.kick();
    db.gate = null;
    open();
    await settle();
    expect(db.transactions).toBe(2);
    expect(db.maxActive).toBe(1);
    expect(producer.values).toEqual(['{"n":1}', '{"n":2}']);
  });

  it('runs up to relayConcurrency passes at once on disjoint shards; every row goes out once, each shard in id order', async () => {
    db.rows = Array.from({ length: 16 }, (_, i) => row(i + 1, 'a', i % 8));
    let open!: () => void;
    db.gate = new Promise<void>((resolve) => (open = resolve));
    makeRelay({ shards: 8, relayConcurrency: 4, batchSize: 100 });
    for (let i = 0; i < 6; i++) relay.kick(); // more kicks than passes allowed
    await settle();
    expect(db.active).toBe(4); // four passes, held open before their commit
    const held = db.lockedByPass.flat();
    expect(new Set(held).size).toBe(held.length); // no shard in two passes
    expect(db.lockedByPass.every((shards) => shards.length === 2)).toBe(true); // 8 shards / 4 passes

    db.gate = null;
    open();
    await settle();
    expect(db.maxActive).toBe(4);
    const published = producer.values.map((v) => (JSON.parse(v) as { n: number }).n);
    expect([...published].sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    for (let shard = 0; shard < 8; shard++) {
      const ofShard = published.filter((n) => (n - 1) % 8 === shard);
      expect(ofShard).toEqual([...ofShard].sort((a, b) => a - b));
    }
    expect(db.rows).toEqual([]);
  });

  it('a pass finding every shard with work held by another pass leaves it to that pass, which goes again', async () => {
    db.rows = [row(1, 'a', 0)];
    let open!: () => void;
    db.gate = new Promise<void>((resolve) => (open = resolve));
    makeRelay({ relayConcurrency: 2 }).kick();
    await settle();
    db.rows.push(row(2, 'a', 0)); // committed while the first pass holds shard 0
    relay.kick();
    await settle();
    expect(db.transactions).toBe(1); // the second pass saw shard 0 busy and opened no transaction
    db.gate = null;
    open();
    await settle();
    expect(producer.values).toEqual(['{"n":1}', '{"n":2}']);
    expect(db.transactions).toBe(2);
    expect(db.maxActive).toBe(1);
  });

  it('a kick at any moment of a pass is never lost (no wait for the next poll)', async () => {
    for (let ticks = 0; ticks < 12; ticks++) {
      await relay?.onApplicationShutdown();
      db = new FakeDb();
      producer = new FakeProducer(db);
      db.rows = [row(1, 'a')];
      let open!: () => void;
      db.gate = new Promise<void>((resolve) => (open = resolve));
      makeRelay().kick();
      await settle();
      db.rows.push(row(2, 'a')); // committed by another request while the pass runs
      db.gate = null;
      open();
      for (let i = 0; i < ticks; i++) await Promise.resolve();
      relay.kick(); // that request's flush()
      await settle();
      expect({ ticks, published: producer.values }).toEqual({ ticks, published: ['{"n":1}', '{"n":2}'] });
    }
  });

  it('polls from bootstrap, then every pollIntervalMs, for work committed by other processes', async () => {
    makeRelay({ pollIntervalMs: 500 }).onApplicationBootstrap();
    const looks = () => db.log.filter((l) => l === 'SELECT pending shards').length;
    expect(looks()).toBe(0);
    await jest.advanceTimersByTimeAsync(0);
    expect(looks()).toBe(1);
    expect(db.transactions).toBe(0); // nothing due: no transaction opened
    db.rows = [row(1, 'a')];
    await jest.advanceTimersByTimeAsync(499);
    expect(looks()).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(looks()).toBe(2);
    expect(db.transactions).toBe(1);
    expect(producer.values).toEqual(['{"n":1}']);
    // After a pass that published, the next poll skips the look and tries every shard; that pass
    // finds nothing, so the one after looks first again.
    await jest.advanceTimersByTimeAsync(500);
    expect({ looks: looks(), transactions: db.transactions }).toEqual({ looks: 2, transactions: 2 });
    await jest.advanceTimersByTimeAsync(500);
    expect({ looks: looks(), transactions: db.transactions }).toEqual({ looks: 3, transactions: 2 });
  });

  it('while passes keep finding rows, a lone relay skips the look; with several passes at once it always looks', async () => {
    db.rows = [row(1, 'a', 0)];
    makeRelay().kick();
    await settle();
    db.rows = [row(2, 'a', 1)];
    relay.kick();
    await settle();
    expect(db.log).toEqual([
      'SELECT pending shards',
      'BEGIN',
      'LOCK shards',
      'SELECT rows',
      'SEND {"n":1}',
      'DELETE 1',
      'COMMIT',
      'BEGIN',
      'LOCK shards',
      'SELECT rows',
      'SEND {"n":2}',
      'DELETE 2',
      'COMMIT',
    ]);
    expect(db.lockedByPass).toEqual([[0], [0, 1, 2, 3]]);

    await relay.onApplicationShutdown();
    db.log = [];
    db.lockedByPass = [];
    db.rows = [row(3, 'a', 0)];
    makeRelay({ relayConcurrency: 2 }).kick();
    await settle();
    db.rows = [row(4, 'a', 1)];
    relay.kick();
    await settle();
    expect(db.log.filter((l) => l === 'SELECT pending shards')).toHaveLength(2);
    expect(db.lockedByPass).toEqual([[0], [1]]);
  });

  it('wakeAt runs a pass when a delayed message becomes due (one timer per 50 ms bucket)', async () => {
    db.rows = [row(1, 'a', 0, 95)];
    makeRelay();
    relay.wakeAt(new Date(T0 + 91));
    relay.wakeAt(new Date(T0 + 95)); // same bucket (T0 + 100): no second timer
    relay.wakeAt(new Date(T0 + 51)); // same bucket too
    await jest.advanceTimersByTimeAsync(101);
    expect(db.transactions).toBe(0);
    await jest.advanceTimersByTimeAsync(1);
    await settle();
    expect(db.transactions).toBe(1);
    expect(producer.values).toEqual(['{"n":1}']);
    await jest.advanceTimersByTimeAsync(1000);
    expect(db.transactions).toBe(1);
  });

  it('shutdown waits for the pass in progress (so a published batch is deleted), then runs nothing more', async () => {
    db.rows = [row(1, 'a')];
    let open!: () => void;
    db.gate = new Promise<void>((resolve) => (open = resolve));
    makeRelay().onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(0);
    expect(db.transactions).toBe(1);

    let stopped = false;
    const shutdown = relay.onApplicationShutdown().then(() => (stopped = true));
    await settle();
    expect(stopped).toBe(false);
    open();
    await shutdown;
    expect(db.log.at(-1)).toBe('COMMIT');
    expect(db.rows).toEqual([]);

    db.gate = null;
    db.rows = [row(2, 'a')];
    relay.kick();
    relay.wakeAt(new Date(T0 + 50));
    await jest.advanceTimersByTimeAsync(10_000);
    expect(db.transactions).toBe(1);
  });

  it('backlog counts the rows waiting in the outbox, parked ones apart', async () => {
    db.rows = [row(1, 'a'), row(2, 'a'), { ...row(3, 'b'), parked_at: new Date(T0), last_error: 'MESSAGE_TOO_LARGE' }];
    await expect(makeRelay().backlog()).resolves.toBe(2);
    await expect(relay.parkedCount()).resolves.toBe(1);
  });

  it('parks a message the broker refuses for what it is, publishes the rest in order, and does not back off', async () => {
    db.rows = [row(1, 'a', 0), row(2, 'a', 0), row(3, 'b', 0), row(4, 'a', 1)];
    producer.refuse = (v) => v === '{"n":2}';
    makeRelay().kick();
    await settle();

    expect(db.log).toEqual([
      'SELECT pending shards',
      'BEGIN',
      'LOCK shards',
      'SELECT rows',
      'SEND refused',
      'SEND {"n":1}',
      'SEND refused',
      'PARK 2',
      'SEND {"n":3}',
      'SEND {"n":4}',
      'DELETE 1,3,4',
      'COMMIT',
    ]);
    expect(db.rows).toEqual([expect.objectContaining({ id: '2', parked_at: expect.any(Date), last_error: expect.stringMatching(/^MESSAGE_TOO_LARGE: /) })]);
    expect(relay.publishedCount).toBe(3);

    // The parked row is no longer work: the pass right after a busy one finds nothing, and then a
    // pass only looks.
    db.log = [];
    relay.kick();
    await settle();
    expect(db.log).toEqual(['BEGIN', 'LOCK shards', 'SELECT rows', 'COMMIT']);
    db.log = [];
    relay.kick();
    await settle();
    expect(db.log).toEqual(['SELECT pending shards']);

    // No backoff: a message committed next leaves at once.
    db.log = [];
    db.rows.push(row(5, 'a', 0));
    relay.kick();
    await settle();
    expect(producer.values.at(-1)).toBe('{"n":5}');
    await expect(relay.parkedCount()).resolves.toBe(1);
  });

  it('a transient failure while looking for the refused message rolls everything back, parking nothing', async () => {
    db.rows = [row(1, 'a', 0), row(2, 'a', 0), row(3, 'a', 0)];
    producer.refuse = (v) => v === '{"n":2}';
    producer.dropOn = (v) => v === '{"n":3}';
    makeRelay().kick();
    await settle();

    expect(db.log).toEqual(['SELECT pending shards', 'BEGIN', 'LOCK shards', 'SELECT rows', 'SEND failed', 'ROLLBACK']);
    expect(db.rows.map((r) => [r.id, r.parked_at ?? null])).toEqual([
      ['1', null],
      ['2', null],
      ['3', null],
    ]);
  });
});

describe('refusedMessage', () => {
  it('finds the broker refusing a message, in the error or among its causes', () => {
    expect(refusedMessage(tooLarge())).toMatch(/^MESSAGE_TOO_LARGE: The request included a message larger/);
    const invalid = new KafkaJSProtocolError({ type: 'INVALID_RECORD', code: 87, retriable: false, message: 'bad record' } as never);
    expect(refusedMessage(new KafkaJSAggregateError('2 brokers failed', [new KafkaJSConnectionError('down'), invalid]))).toBe('INVALID_RECORD: bad record');
  });

  it('is null for faults that concern every message alike: connection, timeouts, authorization', () => {
    expect(refusedMessage(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED'))).toBeNull();
    const denied = new KafkaJSProtocolError({ type: 'TOPIC_AUTHORIZATION_FAILED', code: 29, retriable: false, message: 'Not authorized to access topics' } as never);
    expect(refusedMessage(new NonRetriable(denied, { cause: denied }))).toBeNull();
    expect(refusedMessage(new Error('MESSAGE_TOO_LARGE in a message text is not a refusal'))).toBeNull();
    expect(refusedMessage(undefined)).toBeNull();
  });
});

describe('OutboxService.stage', () => {
  const topics = {
    ordersIn: 't-orders-in',
    ordersValidated: 't-orders-validated',
    orderStatus: 't-order-status',
    inventoryUpdates: 't-inventory-updates',
    shippingUpdates: 't-shipping-updates',
    inventoryRequests: 't-inventory-requests',
    inventoryReplies: 't-inventory-replies',
    paymentRequests: 't-payment-requests',
    paymentReplies: 't-payment-replies',
    shippingReplies: 't-shipping-replies',
    dlq: 't-dlq',
  };
  const ORDER_A = '3f1c2b9a-8d4e-4f6a-9b7c-1a2b3c4d5e6f';
  const ORDER_B = 'a1b2c3d4-0000-4f6a-9b7c-1a2b3c4d5e6f';

  let queries: Array<{ sql: string; params: unknown[] }>;
  let wakes: Date[];
  let outbox: OutboxService;
  const tx = strict('EntityManager', {
    query: async (sql: string, params: unknown[]) => {
      queries.push({ sql, params });
      return { affectedRows: params.length / 8 };
    },
  }) as unknown as EntityManager;

  beforeEach(() => {
    jest.useFakeTimers({ now: T0 });
    unexpected = [];
    queries = [];
    wakes = [];
    const relay = strict('OutboxRelayService', { wakeAt: (at: Date) => void wakes.push(at) }) as unknown as OutboxRelayService;
    const kafka = strict('KafkaConfig', { topics }) as unknown as ConfigType<typeof kafkaConfig>;
    outbox = new OutboxService(kafka, { ...baseCfg, shards: 16 }, relay);
  });
  afterEach(() => {
    jest.useRealTimers();
    expect(unexpected).toEqual([]);
  });

  /** Stages into a batch of its own and runs it, as a caller's write round trip would. */
  const stageAndRun = async (envelopes: Envelope[], options?: { delayMs?: number }): Promise<void> => {
    const batch = new SqlBatch();
    outbox.stage(batch, envelopes, options);
    await batch.run(tx);
  };

  it('stages every envelope in one multi-row INSERT with shard, topic, key, headers and availability', async () => {
    const reserve = newEnvelope(
      'ReserveStock',
      ORDER_A,
      { items: [{ productId: 'p1', quantity: 2 }], currency: 'EUR', attempt: 1 },
      { correlationId: 'corr-a', causationId: 'evt-0' },
    );
    const status = newEnvelope('OrderStatusChanged', ORDER_B, { from: 'RECEIVED', to: 'INVENTORY_CHECK_STARTED', at: new Date(T0).toISOString() }, { correlationId: 'corr-b' });
    await stageAndRun([reserve, status]);

    expect(queries).toHaveLength(1);
    const [{ sql, params }] = queries;
    expect(sql).toBe('INSERT INTO outbox (shard, topic, message_key, event_id, event_type, headers, payload, available_at) VALUES (?,?,?,?,?,?,?,?),(?,?,?,?,?,?,?,?)');
    expect(params).toHaveLength(16);
    const [first, second] = [params.slice(0, 8), params.slice(8)];
    expect(first.slice(0, 5)).toEqual([shardOf(ORDER_A, 16), 't-inventory-requests', ORDER_A, reserve.eventId, 'ReserveStock']);
    expect(JSON.parse(first[5] as string)).toEqual({ [HEADER_CORRELATION_ID]: 'corr-a', [HEADER_EVENT_TYPE]: 'ReserveStock' });
    expect(JSON.parse(first[6] as string)).toEqual(reserve);
    expect(first[7]).toEqual(new Date(T0));
    expect(second.slice(0, 5)).toEqual([shardOf(ORDER_B, 16), 't-order-status', ORDER_B, status.eventId, 'OrderStatusChanged']);
    expect(JSON.parse(second[5] as string)).toEqual({ [HEADER_CORRELATION_ID]: 'corr-b', [HEADER_EVENT_TYPE]: 'OrderStatusChanged' });
    expect(second[7]).toEqual(new Date(T0));
    expect(wakes).toEqual([]); // due now: the caller's flush() publishes it
  });

  it('a delayed message becomes available later and wakes the relay at that time', async () => {
    const e = newEnvelope('PaymentCharged', ORDER_A, { paymentId: 'pay-1', amount: 10, currency: 'EUR' }, { correlationId: 'corr-a' });
    await stageAndRun([e], { delayMs: 250 });
    expect(queries[0].params[1]).toBe('t-payment-replies');
    expect(queries[0].params[7]).toEqual(new Date(T0 + 250));
    expect(wakes).toEqual([new Date(T0 + 250)]);
  });

  it('writes nothing for no envelopes', async () => {
    await stageAndRun([]);
    expect(queries).toEqual([]);
  });

  it('a message caused by another carries its correlation and causation, keyed and sharded by its order', async () => {
    const e = newEnvelope('CommitStock', ORDER_B, {}, causedBy({ correlationId: 'corr-b', eventId: 'evt-9' }));
    await stageAndRun([e]);
    expect(e).toMatchObject({ eventType: 'CommitStock', orderId: ORDER_B, correlationId: 'corr-b', causationId: 'evt-9', schemaVersion: 1, payload: {} });
    expect(queries[0].params.slice(0, 4)).toEqual([shardOf(ORDER_B, 16), 't-inventory-requests', ORDER_B, e.eventId]);
  });
});
