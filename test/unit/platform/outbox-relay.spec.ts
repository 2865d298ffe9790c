import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { KafkaJSAggregateError, KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSProtocolError, type TopicMessages } from 'kafkajs';
import type { DataSource, EntityManager } from 'typeorm';
import type { kafkaConfig } from '../../../src/config/kafka.config.js';
import type { outboxConfig } from '../../../src/config/outbox.config.js';
import { HEADER_CORRELATION_ID, HEADER_EVENT_TYPE, newEnvelope, type Envelope } from '../../../src/contracts/envelope.js';
import { PublishTimeoutError, type KafkaProducerService, type SendOptions } from '../../../src/platform/messaging/kafka-producer.service.js';
import { leaseMsOf, OutboxRelayService, refusedMessage, toTopicMessages } from '../../../src/platform/messaging/outbox-relay.service.js';
import { outboxPublishDuration, outboxPublishFailures } from '../../../src/platform/observability/metrics.counters.js';
import { CLAIM_SHARDS, DELETE_SENT, HELD_SHARDS, PARK, PENDING_SHARDS, READ_LEASED, RELEASE, RENEW, type OutboxRow } from '../../../src/platform/messaging/outbox.repository.js';
import { causedBy, OutboxService, shardOf } from '../../../src/platform/messaging/outbox.service.js';
import { placeholders, SqlBatch } from '../../../src/platform/database/sql-batch.js';

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

interface Row extends OutboxRow {
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
    traceparent: null,
    tracestate: null,
    available_at: new Date(T0 + availableInMs),
  };
}

interface Lease {
  owner: string;
  /** Lease end by the database's clock (the faked Date.now()). */
  until: number;
}

const LOCK_FOR_CLOSE = (shards: number) => `SELECT shard FROM outbox_shards WHERE shard IN (${placeholders(Array.from({ length: shards }))}) ORDER BY shard FOR UPDATE`;

/**
 * The outbox and its shard leases in memory behind the relay's statements. Each statement must be
 * exactly the SQL the relay exports (a changed statement fails here, not in production). A round
 * trip runs its statements in order; a transaction's changes are undone on ROLLBACK.
 */
class FakeDb {
  rows: Row[] = [];
  leases = new Map<number, Lease>();
  /** Each statement (abbreviated), each transaction boundary and each Kafka send, in order. */
  log: string[] = [];
  /** Transactions open right now: none may be open while a pass waits for Kafka. */
  openTransactions = 0;
  /** Shards each claim obtained, in the order of the claims. */
  claimedByPass: number[][] = [];
  /** Fails the next statement starting with this (a database fault). */
  failOn: string | null = null;

  get claims(): number {
    return this.claimedByPass.length;
  }

  /** Passes that read rows (every pass that holds a shard reads). */
  get passes(): number {
    return this.log.filter((l) => l === 'SELECT rows').length;
  }

  /** Another replica holds `shard` for `ms` more (by the database's clock). */
  holdElsewhere(shard: number, ms = 60_000, owner = 'other-replica'): void {
    this.leases.set(shard, { owner, until: Date.now() + ms });
  }

  ownerOf(shard: number): string | null {
    return this.leases.get(shard)?.owner ?? null;
  }

  readonly dataSource = strict('DataSource', {
    query: (sql: string, params?: unknown[]) => this.roundTrip(sql, params, null),
    manager: strict('EntityManager', { query: (sql: string, params?: unknown[]) => this.roundTrip(sql, params, null) }),
    createQueryRunner: () => {
      const connection: Connection = { undo: null };
      const run = (sql: string, params?: unknown[]) => this.roundTrip(sql, params, connection);
      return strict('QueryRunner', {
        manager: strict('EntityManager', { query: run }),
        query: run,
        release: async () => {
          if (connection.undo) unexpected.push('a connection went back to the pool with its transaction open');
        },
      });
    },
  }) as unknown as DataSource;

  private async roundTrip(sql: string, params: unknown[] = [], connection: Connection | null): Promise<unknown> {
    await Promise.resolve();
    const statements = sql.split(';\n');
    const results: unknown[] = [];
    let used = 0;
    for (const statement of statements) {
      const count = (statement.match(/\?/g) ?? []).length;
      results.push(this.execute(statement.replace(/\s+/g, ' ').trim(), params.slice(used, (used += count)), connection));
    }
    return statements.length === 1 ? results[0] : results;
  }

  private execute(s: string, params: unknown[], connection: Connection | null): unknown {
    const now = Date.now();
    if (s === 'START TRANSACTION' || s === 'COMMIT' || s === 'ROLLBACK') {
      if (!connection) throw new Error(`${s} on a pooled connection: nothing would end it`);
      if (s === 'START TRANSACTION') {
        connection.undo = [];
        this.openTransactions += 1;
        this.log.push('BEGIN');
      } else {
        if (s === 'ROLLBACK') connection.undo?.reverse().forEach((undo) => undo());
        connection.undo = null;
        this.openTransactions -= 1;
        this.log.push(s);
      }
      return {};
    }
    if (this.failOn && s.startsWith(this.failOn)) {
      this.failOn = null;
      throw new Error(`injected database failure at ${s.slice(0, 40)}`);
    }
    const undo = (fn: () => void) => connection?.undo?.push(fn);
    const n = params.length;
    if (s === 'SELECT COUNT(*) AS n FROM outbox WHERE parked_at IS NULL') return [{ n: String(this.rows.filter((r) => !r.parked_at).length) }];
    if (s === 'SELECT COUNT(*) AS n FROM outbox WHERE parked_at IS NOT NULL') return [{ n: String(this.rows.filter((r) => r.parked_at).length) }];
    if (s === PENDING_SHARDS) {
      this.log.push('SELECT pending shards');
      return [...new Set(this.due(new Date(now)).map((r) => r.shard))].sort((a, b) => a - b).map((shard) => ({ shard }));
    }
    if (s === CLAIM_SHARDS(n - 2)) {
      const [owner, micros, ...shards] = params as [string, number, ...number[]];
      const got = shards.filter((shard) => {
        const lease = this.leases.get(shard);
        if (lease && lease.until > now) return false;
        this.leases.set(shard, { owner, until: now + micros / 1000 });
        return true;
      });
      this.log.push(`CLAIM ${got.join(',') || '-'}`);
      this.claimedByPass.push(got);
      return { affectedRows: got.length };
    }
    if (s === HELD_SHARDS(n - 1)) {
      const owner = params.at(-1);
      return (params.slice(0, -1) as number[]).filter((shard) => this.ownerOf(shard) === owner).map((shard) => ({ shard }));
    }
    if (s === READ_LEASED(n - 2)) {
      this.log.push('SELECT rows');
      const [owner, ...rest] = params as [string, ...unknown[]];
      const limit = rest.at(-1) as number;
      const shards = new Set((rest.slice(0, -1) as number[]).filter((shard) => this.ownerOf(shard) === owner));
      const rows = this.due(new Date(now))
        .filter((r) => shards.has(r.shard))
        .sort((a, b) => Number(a.id) - Number(b.id))
        .slice(0, limit);
      return rows.map(({ available_at: _ignored, ...r }) => ({ ...r }));
    }
    if (s === LOCK_FOR_CLOSE(n)) {
      if (!connection?.undo) throw new Error('the close must lock its shards inside its transaction');
      this.log.push(`LOCK ${params.join(',')}`);
      return params.map((shard) => ({ shard }));
    }
    if (s === DELETE_SENT) {
      const ids = new Set((JSON.parse(params[0] as string) as Array<string | number>).map(String));
      const gone = this.rows.filter((r) => ids.has(r.id) && this.ownerOf(r.shard) === params[1]);
      this.log.push(`DELETE ${[...ids].filter((id) => gone.some((r) => r.id === id)).join(',') || '-'}`);
      const before = this.rows;
      this.rows = this.rows.filter((r) => !gone.includes(r));
      undo(() => (this.rows = before.filter((r) => gone.includes(r) || this.rows.includes(r))));
      return { affectedRows: gone.length };
    }
    if (s === PARK) {
      const [owner, error, id] = params as [string, string, string];
      const target = this.rows.find((r) => r.id === id && this.ownerOf(r.shard) === owner);
      this.log.push(`PARK ${target ? id : '-'}`);
      if (target) {
        Object.assign(target, { parked_at: new Date(now), last_error: error });
        undo(() => Object.assign(target, { parked_at: null, last_error: null }));
      }
      return { affectedRows: target ? 1 : 0 };
    }
    if (s === RENEW(n - 2)) {
      const [micros, ...rest] = params as [number, ...unknown[]];
      const owner = rest.at(-1);
      const renewed = (rest.slice(0, -1) as number[]).filter((shard) => this.ownerOf(shard) === owner);
      for (const shard of renewed) {
        const lease = this.leases.get(shard)!;
        this.leases.set(shard, { owner: lease.owner, until: now + micros / 1000 });
        undo(() => this.leases.set(shard, lease));
      }
      this.log.push(`RENEW ${renewed.join(',') || '-'}`);
      return { affectedRows: renewed.length };
    }
    if (s === RELEASE(n - 1)) {
      const owner = params.at(-1);
      const released = (params.slice(0, -1) as number[]).filter((shard) => this.ownerOf(shard) === owner);
      for (const shard of released) {
        const lease = this.leases.get(shard)!;
        this.leases.delete(shard);
        undo(() => this.leases.set(shard, lease));
      }
      this.log.push(`RELEASE ${released.join(',') || '-'}`);
      return { affectedRows: released.length };
    }
    throw new Error(`unexpected SQL: ${s}`);
  }

  private due(now: Date): Row[] {
    return this.rows.filter((r) => r.available_at.getTime() <= now.getTime() && !r.parked_at);
  }
}

interface Connection {
  /** Undo steps of the open transaction; null outside one. */
  undo: Array<() => void> | null;
}

/** A promise the test settles by hand. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

class FakeProducer {
  batches: TopicMessages[][] = [];
  failWith: Error | null = null;
  /** Messages the broker refuses as too large: a batch holding one fails whole, as the broker answers. */
  refuse: (value: string) => boolean = () => false;
  /** Fails the send of a batch holding a message for which this returns true (a connection error). */
  dropOn: (value: string) => boolean = () => false;
  /** Holds every send until it opens (a slow broker; the send's timeout is not applied). */
  gate: Promise<void> | null = null;
  /** Each send takes this long; past its timeout it fails as KafkaProducerService fails it. */
  latencyMs = 0;
  /** The broker never answers: the send fails at its timeout, as KafkaProducerService fails it. */
  unanswered = false;
  /** Timeout given to each send. */
  timeouts: Array<number | undefined> = [];
  /** Database transactions open when each send started. */
  transactionsOpenAtSend: number[] = [];
  inFlight = 0;
  maxInFlight = 0;
  /** Sends held forever, as by a process frozen mid-send (SIGSTOP): `thaw` lets them go on. */
  private frozen: ReturnType<typeof deferred> | null = null;

  constructor(private readonly db: FakeDb) {}

  freeze(): void {
    this.frozen = deferred();
  }

  /** Lets the frozen sends complete (`land`: the broker took them) or fail. */
  thaw(land: boolean): void {
    const frozen = this.frozen;
    this.frozen = null;
    if (land) frozen?.resolve();
    else frozen?.reject(new KafkaJSConnectionError('Connection error: read ECONNRESET'));
  }

  readonly service = strict('KafkaProducerService', {
    // What the relay's health() reads (the service's own bookkeeping is tested with the service).
    lastOutcomes: () => ({ lastSentAt: null, lastError: null }),
    sendBatch: async (topicMessages: TopicMessages[], options: SendOptions = {}): Promise<void> => {
      this.timeouts.push(options.timeoutMs);
      this.transactionsOpenAtSend.push(this.db.openTransactions);
      this.inFlight += 1;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      try {
        await this.deliver(topicMessages, options.timeoutMs ?? Infinity);
      } finally {
        this.inFlight -= 1;
      }
    },
  }) as unknown as KafkaProducerService;

  private async deliver(topicMessages: TopicMessages[], timeoutMs: number): Promise<void> {
    const values = topicMessages.flatMap((t) => t.messages.map((m) => String(m.value)));
    if (this.frozen) await this.frozen.promise;
    if (this.gate) await this.gate;
    const takes = this.unanswered ? Infinity : this.latencyMs;
    if (takes > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(takes, timeoutMs)));
    if (takes > timeoutMs) {
      this.db.log.push('SEND timed out');
      throw new PublishTimeoutError(timeoutMs);
    }
    if (this.failWith) {
      this.db.log.push('SEND failed');
      throw this.failWith;
    }
    if (values.some(this.dropOn)) {
      this.db.log.push('SEND failed');
      throw new KafkaJSConnectionError('Connection error: read ECONNRESET');
    }
    if (values.some(this.refuse)) {
      this.db.log.push('SEND refused');
      throw tooLarge();
    }
    this.db.log.push(`SEND ${values.join(' ')}`);
    this.batches.push(topicMessages);
  }

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
const baseCfg: OutboxCfg = { pollIntervalMs: 1000, batchSize: 10, shards: 4, relayConcurrency: 1, retryBackoffMaxMs: 10000, publishTimeoutMs: 5000 };

/** Runs every pending promise continuation (setImmediate stays real, timers are fake). */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

/** The `n` of each published `{"n":…}`, in publication order. */
const numbers = (values: string[]) => values.map((v) => (JSON.parse(v) as { n: number }).n);

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

  it("sends a row's stored trace context as W3C traceparent and tracestate headers, and none when it has none", () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const [{ messages }] = toTopicMessages([{ ...row(8, 'a'), traceparent, tracestate: 'vendor=x' }, { ...row(9, 'a'), traceparent, tracestate: null }, row(10, 'a')]);
    expect(messages.map((m) => m.headers)).toEqual([
      { [HEADER_EVENT_TYPE]: 'E8', traceparent, tracestate: 'vendor=x' },
      { [HEADER_EVENT_TYPE]: 'E9', traceparent },
      { [HEADER_EVENT_TYPE]: 'E10' },
    ]);
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
  let relays: OutboxRelayService[];
  let producers: FakeProducer[];

  function makeRelay(cfg: Partial<OutboxCfg> = {}, by: FakeProducer = producer): OutboxRelayService {
    relay = new OutboxRelayService(db.dataSource, by.service, { ...baseCfg, ...cfg });
    relays.push(relay);
    return relay;
  }

  /** Another replica: its own relay and producer on the same database. */
  function otherReplica(cfg: Partial<OutboxCfg> = {}): { relay: OutboxRelayService; producer: FakeProducer } {
    const own = new FakeProducer(db);
    producers.push(own);
    const other = new OutboxRelayService(db.dataSource, own.service, { ...baseCfg, ...cfg });
    relays.push(other);
    return { relay: other, producer: own };
  }

  /** The order in which messages reached Kafka, across replicas, first copies only (what an inbox lets through). */
  const firstCopies = () => [...new Set(db.log.filter((l) => l.startsWith('SEND {')).flatMap((l) => l.slice(5).split(' ')))];

  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'], now: T0 });
    unexpected = [];
    db = new FakeDb();
    producer = new FakeProducer(db);
    producers = [producer];
    relays = [];
  });
  afterEach(async () => {
    producers.forEach((p) => p.thaw(false));
    for (const r of relays) await r.onApplicationShutdown();
    jest.useRealTimers();
    expect(unexpected).toEqual([]);
  });

  it('publishes the due rows in id order outside any transaction, then deletes them and gives the leases back in one short transaction', async () => {
    db.rows = [row(5, 'a', 1), row(2, 'b', 1), row(9, 'a', 2), row(3, 'a', 2), row(4, 'a', 3, 60_000)];
    makeRelay().kick();
    await settle();

    expect(db.log).toEqual([
      'SELECT pending shards',
      'CLAIM 1,2',
      'SELECT rows',
      'SEND {"n":2} {"n":3} {"n":5} {"n":9}',
      'BEGIN',
      'LOCK 1,2',
      'DELETE 2,3,5,9',
      'RELEASE 1,2',
      'COMMIT',
    ]);
    expect(producer.transactionsOpenAtSend).toEqual([0]); // no lock held while Kafka is waited for
    expect(producer.timeouts).toEqual([5000]);
    expect(producer.batches[0].map((t) => [t.topic, t.messages.map((m) => m.key)])).toEqual([
      ['b', ['order-2']],
      ['a', ['order-3', 'order-5', 'order-9']],
    ]);
    expect(db.rows.map((r) => r.id)).toEqual(['4']); // not due yet
    expect([...db.leases.keys()]).toEqual([]);
    expect(relay.publishedCount).toBe(4);
  });

  it('leases each shard to one pass at a time, for publishTimeoutMs plus half a poll interval by the database clock', async () => {
    db.rows = [row(1, 'a', 1), row(2, 'a', 2)];
    const held = deferred();
    producer.gate = held.promise;
    makeRelay().kick();
    await settle();
    expect(leaseMsOf(baseCfg)).toBe(5500);
    const lease = db.leases.get(1)!;
    expect(lease.until).toBe(T0 + 5500);
    expect(lease.owner).toMatch(/^.+:\d+:[0-9a-f]{8}#1$/);
    expect(lease.owner.length).toBeLessThanOrEqual(64);

    // Another replica finds both shards leased: it claims nothing and writes nothing else.
    db.log = [];
    const other = otherReplica();
    other.relay.kick();
    await settle();
    expect(db.log).toEqual(['SELECT pending shards', 'CLAIM -', 'SELECT rows']);
    expect(other.producer.timeouts).toEqual([]);

    held.resolve();
    await settle();
    expect(producer.values).toEqual(['{"n":1}', '{"n":2}']);
    expect([...db.leases.keys()]).toEqual([]);

    // The other replica's passes lease under its own name.
    db.rows = [row(3, 'a', 3)];
    const otherHeld = deferred();
    other.producer.gate = otherHeld.promise;
    other.relay.kick();
    await settle();
    expect(db.ownerOf(3)!.split('#')[0]).not.toBe(lease.owner.split('#')[0]);
    otherHeld.resolve();
  });

  it('leaves the shards another replica holds to it, and takes them at the first poll after that lease ran out', async () => {
    db.rows = [row(1, 'a', 0), row(2, 'a', 1), row(3, 'a', 2)];
    db.holdElsewhere(1, 2500);
    makeRelay().onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(0);
    expect(producer.values).toEqual(['{"n":1}', '{"n":3}']);
    expect(db.rows.map((r) => r.id)).toEqual(['2']);
    expect(db.ownerOf(1)).toBe('other-replica');

    await jest.advanceTimersByTimeAsync(2000);
    expect(producer.values).toHaveLength(2);
    expect(db.ownerOf(1)).toBe('other-replica');
    await jest.advanceTimersByTimeAsync(1000); // the poll at 3 s, the first after the lease ended at 2.5 s
    expect(producer.values).toEqual(['{"n":1}', '{"n":3}', '{"n":2}']);
    expect(db.rows).toEqual([]);
  });

  it('reads only the rows of the shards it holds, before the LIMIT: rows of shards held elsewhere never crowd out its own', async () => {
    db.rows = [...[1, 2, 3, 4, 5, 6].map((id) => row(id, 'a', 1)), row(7, 'a', 2), row(8, 'a', 2)];
    db.holdElsewhere(1);
    makeRelay({ batchSize: 3 }).kick();
    await settle();
    expect(producer.values).toEqual(['{"n":7}', '{"n":8}']);
    expect(db.rows.map((r) => r.id)).toEqual(['1', '2', '3', '4', '5', '6']);
    await settle();
    expect(db.passes).toBe(1); // a short read: no pass again, no spin
  });

  it('a replica frozen mid-send (SIGSTOP) frees its shards within 2 poll intervals plus the publish timeout; the other publishes all in order', async () => {
    db.rows = Array.from({ length: 12 }, (_, i) => row(i + 1, 'a', i % 4));
    producer.freeze(); // its send never answers, and the frozen process never runs its timeout
    makeRelay().kick();
    await settle();
    const frozenAt = Date.now();
    expect(db.claimedByPass).toEqual([[0, 1, 2, 3]]);

    const other = otherReplica();
    other.relay.onApplicationBootstrap();
    while (other.producer.values.length < 12 && Date.now() - frozenAt < 20_000) await jest.advanceTimersByTimeAsync(10);
    expect(Date.now() - frozenAt).toBeLessThanOrEqual(2 * baseCfg.pollIntervalMs + baseCfg.publishTimeoutMs);
    expect(Date.now() - frozenAt).toBeGreaterThanOrEqual(leaseMsOf(baseCfg)); // not before the lease ran out
    expect(numbers(other.producer.values)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    await settle();
    expect(db.rows).toEqual([]);
  });

  it('a pass that lost its lease during its send deletes nothing and leaves the new holder alone; its late copies follow the first ones in order', async () => {
    db.rows = [row(1, 'a', 0), row(2, 'a', 0)];
    const late = deferred();
    producer.gate = late.promise;
    makeRelay().kick();
    await settle();
    await jest.advanceTimersByTimeAsync(leaseMsOf(baseCfg));

    // The lease ran out: another replica publishes the rows, then the order's next message.
    const other = otherReplica();
    other.relay.kick();
    await settle();
    db.rows.push(row(3, 'a', 0));
    const holding = deferred();
    other.producer.gate = holding.promise;
    other.relay.kick();
    await settle();
    const newHolder = db.ownerOf(0);
    expect(newHolder).not.toBeNull();

    // The first pass's send finally lands, while the other replica holds the shard.
    db.log = [];
    late.resolve();
    await settle();
    expect(db.log).toEqual(['SEND {"n":1} {"n":2}', 'BEGIN', 'LOCK 0', 'DELETE -', 'RELEASE -', 'COMMIT']);
    expect(db.ownerOf(0)).toBe(newHolder);
    expect(db.rows.map((r) => r.id)).toEqual(['3']);

    holding.resolve();
    await settle();
    expect(db.rows).toEqual([]);
    // 1 2 (other) 1 2 (late) 3 (other): the late batch only repeats what already left.
    expect(firstCopies()).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
  });

  it('abandons a send Kafka does not answer within publishTimeoutMs, gives the leases back, and sends the rows again after the backoff', async () => {
    db.rows = [row(1, 'a', 0), row(2, 'a', 1)];
    producer.unanswered = true;
    makeRelay().kick();
    await settle();
    await jest.advanceTimersByTimeAsync(4999);
    expect(db.ownerOf(0)).toMatch(/#1$/);
    expect(relay.health()).toMatchObject({ state: 'running', failedPasses: 0 });
    await jest.advanceTimersByTimeAsync(1);
    await settle();
    expect(db.log).toEqual(['SELECT pending shards', 'CLAIM 0,1', 'SELECT rows', 'SEND timed out', 'RELEASE 0,1']);
    expect(producer.transactionsOpenAtSend).toEqual([0]);
    expect([...db.leases.keys()]).toEqual([]);
    expect(relay.health()).toMatchObject({ state: 'backing-off', failedPasses: 1 });

    producer.unanswered = false;
    await jest.advanceTimersByTimeAsync(400);
    expect(producer.values).toEqual(['{"n":1}', '{"n":2}']);
    expect(db.rows).toEqual([]);
    expect(relay.health()).toMatchObject({ state: 'running', failedPasses: 0 });
    await relay.onApplicationShutdown();
    expect(relay.health().state).toBe('stopped');
  });

  it("a pass's sends share one publish timeout: while it looks for a refused message the time left shrinks, and what is left at the deadline waits for the next pass", async () => {
    db.rows = [1, 2, 3, 4, 5].map((id) => row(id, 'a', 0));
    producer.latencyMs = 1000;
    producer.refuse = (v) => v === '{"n":2}';
    makeRelay().kick();
    await jest.advanceTimersByTimeAsync(5000);
    await settle();
    expect(producer.timeouts).toEqual([5000, 4000, 3000, 2000, 1000, 5000]);
    expect(db.log).toEqual([
      'SELECT pending shards',
      'CLAIM 0',
      'SELECT rows',
      'SEND refused',
      'SEND {"n":1}',
      'SEND refused',
      'SEND {"n":3}',
      'SEND {"n":4}',
      'BEGIN',
      'LOCK 0',
      'DELETE 1,3,4',
      'PARK 2',
      'RENEW 0', // more to do: the loop keeps its lease
      'COMMIT',
      'CLAIM 1,2,3',
      'SELECT rows',
    ]);
    await jest.advanceTimersByTimeAsync(1000);
    expect(producer.values.at(-1)).toBe('{"n":5}');
    expect(db.rows.map((r) => [r.id, r.last_error?.slice(0, 17)])).toEqual([['2', 'MESSAGE_TOO_LARGE']]);
  });

  it('a failure while closing rolls the whole close back (nothing half-deleted), gives the leases back, and retries', async () => {
    db.rows = [row(1, 'a', 0), row(2, 'a', 0)];
    db.failOn = 'UPDATE outbox_shards SET lease_owner = NULL';
    makeRelay().kick();
    await settle();
    expect(db.log).toEqual(['SELECT pending shards', 'CLAIM 0', 'SELECT rows', 'SEND {"n":1} {"n":2}', 'BEGIN', 'LOCK 0', 'DELETE 1,2', 'ROLLBACK', 'RELEASE 0']);
    expect(db.rows.map((r) => r.id)).toEqual(['1', '2']);
    expect(relay.health().state).toBe('backing-off');
    await jest.advanceTimersByTimeAsync(400);
    expect(db.rows).toEqual([]);
    expect(producer.values).toEqual(['{"n":1}', '{"n":2}', '{"n":1}', '{"n":2}']); // sent again: the inboxes drop the copies
  });

  it('does nothing more than look when no row is due, and claims without writing more when every shard with work is held elsewhere', async () => {
    makeRelay().kick();
    await settle();
    expect(db.log).toEqual(['SELECT pending shards']);

    db.log = [];
    db.rows = [row(1, 'a', 2)];
    db.holdElsewhere(2);
    relay.kick();
    await settle();
    expect(db.log).toEqual(['SELECT pending shards', 'CLAIM -', 'SELECT rows']);
    expect(producer.batches).toEqual([]);
    expect(db.rows.map((r) => r.id)).toEqual(['1']);
  });

  it('when Kafka fails: deletes nothing, gives the leases back, backs off, and a later poll retries', async () => {
    db.rows = [row(1, 'a'), row(2, 'b')];
    producer.failWith = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED');
    makeRelay().kick();
    await settle();

    expect(db.log).toEqual(['SELECT pending shards', 'CLAIM 1,2', 'SELECT rows', 'SEND failed', 'RELEASE 1,2']);
    expect(db.rows.map((r) => r.id)).toEqual(['1', '2']);
    expect(relay.publishedCount).toBe(0);

    // First failure: 400 ms of backoff, during which a kick (a local commit) does not run a pass.
    producer.failWith = null;
    await jest.advanceTimersByTimeAsync(399);
    relay.kick();
    await settle();
    expect(db.passes).toBe(1);

    await jest.advanceTimersByTimeAsync(1);
    await settle();
    expect(db.passes).toBe(2);
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
      while (db.passes < attempt) await jest.advanceTimersByTimeAsync(10);
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
    const before = db.passes;
    while (db.passes === before) await jest.advanceTimersByTimeAsync(10);
    expect(Date.now() - failedAt).toBe(400);
  });

  it('a full batch triggers another pass at once, until a short batch', async () => {
    db.rows = [5, 4, 3, 2, 1].map((id) => row(id, 'a', 0));
    makeRelay({ batchSize: 2 }).kick();
    await settle();
    expect(producer.batches.map((b) => b[0].messages.map((m) => m.key))).toEqual([['order-1', 'order-2'], ['order-3', 'order-4'], ['order-5']]);
    expect(db.passes).toBe(3); // the short third batch ends the loop, no timer involved
    expect(db.log.filter((l) => l.startsWith('DELETE'))).toEqual(['DELETE 1,2', 'DELETE 3,4', 'DELETE 5']);
  });

  it('while a loop goes on its passes claim nothing new: each close renews the leases, and the last gives them back', async () => {
    db.rows = [1, 2, 3, 4, 5].map((id) => row(id, 'a', 0));
    makeRelay({ batchSize: 2 }).kick();
    await settle();
    expect(db.log).toEqual([
      'SELECT pending shards',
      'CLAIM 0',
      'SELECT rows',
      'SEND {"n":1} {"n":2}',
      'BEGIN',
      'LOCK 0',
      'DELETE 1,2',
      'RENEW 0',
      'COMMIT',
      // A lone relay busy with rows tries every shard: it claims the rest once.
      'CLAIM 1,2,3',
      'SELECT rows',
      'SEND {"n":3} {"n":4}',
      'BEGIN',
      'LOCK 0,1,2,3',
      'DELETE 3,4',
      'RENEW 0,1,2,3',
      'COMMIT',
      'SELECT rows', // no claim, no write before the send
      'SEND {"n":5}',
      'BEGIN',
      'LOCK 0,1,2,3',
      'DELETE 5',
      'RELEASE 0,1,2,3',
      'COMMIT',
    ]);
    expect(producer.transactionsOpenAtSend).toEqual([0, 0, 0]);
    expect([...db.leases.keys()]).toEqual([]);
  });

  it('a loop stalled past its lease drops the shard another replica took meanwhile, and leaves that lease alone', async () => {
    db.rows = [row(1, 'a', 0), row(2, 'a', 0), row(3, 'a', 0)];
    const stalled = deferred();
    producer.gate = stalled.promise;
    makeRelay({ batchSize: 2 }).kick();
    await settle();
    await jest.advanceTimersByTimeAsync(leaseMsOf(baseCfg));
    db.holdElsewhere(0); // another replica claimed shard 0 once the lease ran out

    db.log = [];
    producer.gate = null;
    stalled.resolve();
    await settle();
    expect(db.log).toEqual([
      'SEND {"n":1} {"n":2}',
      'BEGIN',
      'LOCK 0',
      'DELETE -', // not its shard any more: the new holder sends these again
      'RENEW -',
      'COMMIT',
      'CLAIM 1,2,3',
      'SELECT rows',
      'RELEASE 1,2,3',
    ]);
    expect(db.ownerOf(0)).toBe('other-replica');
    expect(db.rows.map((r) => r.id)).toEqual(['1', '2', '3']);
  });

  it('kicks during a pass coalesce into one more pass, never two passes at once', async () => {
    db.rows = [row(1, 'a')];
    const gate = deferred();
    producer.gate = gate.promise;
    makeRelay().kick();
    await settle();
    db.rows.push(row(2, 'a'));
    relay.kick();
    relay.kick();
    relay.kick();
    producer.gate = null;
    gate.resolve();
    await settle();
    expect(db.passes).toBe(2);
    expect(producer.maxInFlight).toBe(1);
    expect(producer.values).toEqual(['{"n":1}', '{"n":2}']);
  });

  it('runs up to relayConcurrency passes at once on disjoint shards; every row goes out once, each shard in id order', async () => {
    db.rows = Array.from({ length: 16 }, (_, i) => row(i + 1, 'a', i % 8));
    const gate = deferred();
    producer.gate = gate.promise;
    makeRelay({ shards: 8, relayConcurrency: 4, batchSize: 100 });
    for (let i = 0; i < 6; i++) relay.kick(); // more kicks than passes allowed
    await settle();
    expect(producer.inFlight).toBe(4); // four passes, each waiting for Kafka
    const held = db.claimedByPass.flat();
    expect(new Set(held).size).toBe(held.length); // no shard in two passes
    expect(db.claimedByPass.every((shards) => shards.length === 2)).toBe(true); // 8 shards / 4 passes
    expect(new Set([...db.leases.values()].map((l) => l.owner)).size).toBe(4); // a lease token per pass

    producer.gate = null;
    gate.resolve();
    await settle();
    const published = numbers(producer.values);
    expect([...published].sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    for (let shard = 0; shard < 8; shard++) {
      const ofShard = published.filter((n) => (n - 1) % 8 === shard);
      expect(ofShard).toEqual([...ofShard].sort((a, b) => a - b));
    }
    expect(db.rows).toEqual([]);
    expect([...db.leases.keys()]).toEqual([]);
  });

  it('a pass finding every shard with work held by another pass leaves it to that pass, which goes again', async () => {
    db.rows = [row(1, 'a', 0)];
    const gate = deferred();
    producer.gate = gate.promise;
    makeRelay({ relayConcurrency: 2 }).kick();
    await settle();
    db.rows.push(row(2, 'a', 0)); // committed while the first pass holds shard 0
    relay.kick();
    await settle();
    expect(db.passes).toBe(1); // the second pass saw shard 0 busy and claimed nothing
    producer.gate = null;
    gate.resolve();
    await settle();
    expect(producer.values).toEqual(['{"n":1}', '{"n":2}']);
    expect(db.passes).toBe(2);
    expect(producer.maxInFlight).toBe(1);
  });

  it('a kick at any moment of a pass is never lost (no wait for the next poll)', async () => {
    for (let ticks = 0; ticks < 16; ticks++) {
      await relay?.onApplicationShutdown();
      db = new FakeDb();
      producer = new FakeProducer(db);
      db.rows = [row(1, 'a')];
      const gate = deferred();
      producer.gate = gate.promise;
      makeRelay().kick();
      await settle();
      db.rows.push(row(2, 'a')); // committed by another request while the pass runs
      producer.gate = null;
      gate.resolve();
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
    expect(db.claims).toBe(0); // nothing due: no lease taken
    db.rows = [row(1, 'a')];
    await jest.advanceTimersByTimeAsync(499);
    expect(looks()).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(looks()).toBe(2);
    expect(db.passes).toBe(1);
    expect(producer.values).toEqual(['{"n":1}']);
    // After a pass that published, the next poll skips the look and tries every shard; that pass
    // finds nothing, so the one after looks first again.
    await jest.advanceTimersByTimeAsync(500);
    expect({ looks: looks(), passes: db.passes }).toEqual({ looks: 2, passes: 2 });
    await jest.advanceTimersByTimeAsync(500);
    expect({ looks: looks(), passes: db.passes }).toEqual({ looks: 3, passes: 2 });
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
      'CLAIM 0',
      'SELECT rows',
      'SEND {"n":1}',
      'BEGIN',
      'LOCK 0',
      'DELETE 1',
      'RELEASE 0',
      'COMMIT',
      'CLAIM 0,1,2,3',
      'SELECT rows',
      'SEND {"n":2}',
      'BEGIN',
      'LOCK 0,1,2,3',
      'DELETE 2',
      'RELEASE 0,1,2,3',
      'COMMIT',
    ]);
    expect(db.claimedByPass).toEqual([[0], [0, 1, 2, 3]]);

    await relay.onApplicationShutdown();
    db.log = [];
    db.claimedByPass = [];
    db.rows = [row(3, 'a', 0)];
    makeRelay({ relayConcurrency: 2 }).kick();
    await settle();
    db.rows = [row(4, 'a', 1)];
    relay.kick();
    await settle();
    expect(db.log.filter((l) => l === 'SELECT pending shards')).toHaveLength(2);
    expect(db.claimedByPass).toEqual([[0], [1]]);
  });

  it('wakeAt runs a pass when a delayed message becomes due (one timer per 50 ms bucket)', async () => {
    db.rows = [row(1, 'a', 0, 95)];
    makeRelay();
    relay.wakeAt(new Date(T0 + 91));
    relay.wakeAt(new Date(T0 + 95)); // same bucket (T0 + 100): no second timer
    relay.wakeAt(new Date(T0 + 51)); // same bucket too
    await jest.advanceTimersByTimeAsync(101);
    expect(db.passes).toBe(0);
    await jest.advanceTimersByTimeAsync(1);
    await settle();
    expect(db.passes).toBe(1);
    expect(producer.values).toEqual(['{"n":1}']);
    await jest.advanceTimersByTimeAsync(1000);
    expect(db.passes).toBe(1);
  });

  it('shutdown waits for the pass in progress (so a published batch is deleted), then runs nothing more', async () => {
    db.rows = [row(1, 'a')];
    const gate = deferred();
    producer.gate = gate.promise;
    makeRelay().onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(0);
    expect(db.passes).toBe(1);

    let stopped = false;
    const shutdown = relay.onApplicationShutdown().then(() => (stopped = true));
    await settle();
    expect(stopped).toBe(false);
    gate.resolve();
    await shutdown;
    expect(db.log.at(-1)).toBe('COMMIT');
    expect(db.rows).toEqual([]);

    producer.gate = null;
    db.rows = [row(2, 'a')];
    relay.kick();
    relay.wakeAt(new Date(T0 + 50));
    await jest.advanceTimersByTimeAsync(10_000);
    expect(db.passes).toBe(1);
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
      'CLAIM 0,1',
      'SELECT rows',
      'SEND refused',
      'SEND {"n":1}',
      'SEND refused',
      'SEND {"n":3}',
      'SEND {"n":4}',
      'BEGIN',
      'LOCK 0,1',
      'DELETE 1,3,4',
      'PARK 2',
      'RELEASE 0,1',
      'COMMIT',
    ]);
    expect(db.rows).toEqual([expect.objectContaining({ id: '2', parked_at: expect.any(Date), last_error: expect.stringMatching(/^MESSAGE_TOO_LARGE: /) })]);
    expect(relay.publishedCount).toBe(3);

    // The parked row is no longer work: the pass right after a busy one finds nothing (and only gives
    // the leases back), and then a pass only looks.
    db.log = [];
    relay.kick();
    await settle();
    expect(db.log).toEqual(['CLAIM 0,1,2,3', 'SELECT rows', 'RELEASE 0,1,2,3']);
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

  it('a transient failure while looking for the refused message parks nothing and gives the leases back', async () => {
    db.rows = [row(1, 'a', 0), row(2, 'a', 0), row(3, 'a', 0)];
    producer.refuse = (v) => v === '{"n":2}';
    producer.dropOn = (v) => v === '{"n":3}';
    makeRelay().kick();
    await settle();

    expect(db.log).toEqual(['SELECT pending shards', 'CLAIM 0', 'SELECT rows', 'SEND failed', 'RELEASE 0']);
    expect(db.rows.map((r) => [r.id, r.parked_at ?? null])).toEqual([
      ['1', null],
      ['2', null],
      ['3', null],
    ]);
  });

  it('times every Kafka send, and counts the failed ones by reason (refused, transient)', async () => {
    const sends = async () => (await outboxPublishDuration.get()).values.find((v) => v.metricName === 'order_flow_outbox_publish_duration_seconds_count')?.value ?? 0;
    const failures = async (reason: string) => (await outboxPublishFailures.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
    const before = { sends: await sends(), refused: await failures('refused'), transient: await failures('transient') };
    db.rows = [row(1, 'a', 0), row(2, 'a', 0), row(3, 'b', 0)];
    producer.refuse = (v) => v === '{"n":2}';
    makeRelay().kick();
    await settle();
    // The batch (refused), then one at a time: 1, 2 (refused), 3.
    expect((await sends()) - before.sends).toBe(4);
    expect((await failures('refused')) - before.refused).toBe(2);
    expect((await failures('transient')) - before.transient).toBe(0);

    db.rows.push(row(4, 'a', 0));
    producer.refuse = () => false;
    producer.dropOn = (v) => v === '{"n":4}';
    relay.kick();
    await settle();
    expect((await failures('transient')) - before.transient).toBe(1);
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

  it('stages every envelope in one multi-row INSERT with shard, topic, key, headers, trace context (null: tracing off) and availability', async () => {
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
    // Available by the database's clock (replicas' clocks differ): now plus the delay in microseconds.
    const row = '(?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3) + INTERVAL ? MICROSECOND)';
    expect(sql).toBe(`INSERT INTO outbox (shard, topic, message_key, event_id, event_type, headers, payload, traceparent, tracestate, available_at) VALUES ${row},${row}`);
    expect(params).toHaveLength(20);
    const [first, second] = [params.slice(0, 10), params.slice(10)];
    expect(first.slice(0, 5)).toEqual([shardOf(ORDER_A, 16), 't-inventory-requests', ORDER_A, reserve.eventId, 'ReserveStock']);
    expect(JSON.parse(first[5] as string)).toEqual({ [HEADER_CORRELATION_ID]: 'corr-a', [HEADER_EVENT_TYPE]: 'ReserveStock' });
    expect(JSON.parse(first[6] as string)).toEqual(reserve);
    expect(first.slice(7, 9)).toEqual([null, null]);
    expect(first[9]).toBe(0);
    expect(second.slice(0, 5)).toEqual([shardOf(ORDER_B, 16), 't-order-status', ORDER_B, status.eventId, 'OrderStatusChanged']);
    expect(JSON.parse(second[5] as string)).toEqual({ [HEADER_CORRELATION_ID]: 'corr-b', [HEADER_EVENT_TYPE]: 'OrderStatusChanged' });
    expect(second.slice(7, 9)).toEqual([null, null]);
    expect(second[9]).toBe(0);
    expect(wakes).toEqual([]); // due now: the caller's flush() publishes it
  });

  it('a delayed message becomes available later and wakes the relay at that time', async () => {
    const e = newEnvelope('PaymentCharged', ORDER_A, { paymentId: 'pay-1', amount: 10, currency: 'EUR' }, { correlationId: 'corr-a' });
    await stageAndRun([e], { delayMs: 250 });
    expect(queries[0].params[1]).toBe('t-payment-replies');
    expect(queries[0].params[9]).toBe(250_000);
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
