import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { Consumer, KafkaMessage } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import type { kafkaConfig } from '../../../src/config/kafka.config.js';
import { newEnvelope, type Envelope } from '../../../src/contracts/envelope.js';
import type { KafkaProducerService } from '../../../src/platform/messaging/kafka-producer.service.js';
import { messageHandler, type TypedEnvelope } from '../../../src/platform/messaging/message-handlers.js';
import { MessageProcessorService, PoisonMessageError, type MessageBatch } from '../../../src/platform/messaging/message-processor.service.js';
import type { OutboxService } from '../../../src/platform/messaging/outbox.service.js';
import { deadLetteredMessages, inboxDuplicates, messageHandlingDuration } from '../../../src/platform/observability/metrics.counters.js';

/** A double that meets a member it does not define fails the test (STYLE #8). */
function strict<T extends object>(name: string, impl: T): T {
  return new Proxy(impl, {
    get(target, prop, receiver) {
      if (prop in target || typeof prop === 'symbol' || prop === 'then' || prop === 'asymmetricMatch' || prop === 'toJSON') return Reflect.get(target, prop, receiver);
      throw new Error(`unexpected use of ${name}.${prop}`);
    },
  });
}

/**
 * The inbox table of an in-memory database: rows inserted in a transaction are seen by it at once and
 * by everyone once it commits; a rollback (whole, or to the savepoint) drops them.
 */
class FakeDatabase {
  readonly inbox = new Set<string>();
  readonly deadLettered: string[] = [];
  transactions = 0;
  commits = 0;

  readonly dataSource = strict('DataSource', {
    createQueryRunner: () => this.runner(),
    query: (sql: string, params: unknown[]) => {
      expect(sql).toBe('INSERT IGNORE INTO dead_lettered_messages (consumer_group, event_id) VALUES (?, ?)');
      this.deadLettered.push(`${String(params[0])}/${String(params[1])}`);
      return Promise.resolve({ affectedRows: 1 });
    },
  }) as unknown as DataSource;

  private runner() {
    let pending: string[] = [];
    let savepoint = 0;
    const run = (statement: string, params: unknown[]): { affectedRows: number } => {
      if (statement === 'START TRANSACTION') this.transactions += 1;
      else if (statement === 'SAVEPOINT inbox') savepoint = pending.length;
      else if (statement === 'ROLLBACK TO SAVEPOINT inbox') pending = pending.slice(0, savepoint);
      else if (statement === 'COMMIT') {
        for (const key of pending) this.inbox.add(key);
        pending = [];
        this.commits += 1;
      } else if (statement.startsWith('INSERT IGNORE INTO processed_messages (consumer_group, event_id) VALUES')) {
        let inserted = 0;
        for (let i = 0; i < params.length; i += 2) {
          const key = `${String(params[i])}/${String(params[i + 1])}`;
          if (this.inbox.has(key) || pending.includes(key)) continue;
          pending.push(key);
          inserted += 1;
        }
        return { affectedRows: inserted };
      } else throw new Error(`unexpected statement ${statement}`);
      return { affectedRows: 0 };
    };
    const manager = strict('EntityManager', {
      query: (sql: string, params: unknown[] = []) => {
        const statements = sql.split(';\n');
        let next = 0;
        const results = statements.map((statement) => {
          const count = statement.split('?').length - 1;
          next += count;
          return run(statement, params.slice(next - count, next));
        });
        return Promise.resolve(statements.length === 1 ? results[0] : results);
      },
    }) as unknown as EntityManager;
    return strict('QueryRunner', {
      manager,
      query: (sql: string) => {
        expect(sql).toBe('ROLLBACK');
        pending = [];
        return Promise.resolve();
      },
      release: () => Promise.resolve(),
    });
  }
}

const GROUP = 'order-flow-payment';
const TOPIC = 'payment-requests';
const MAX_ATTEMPTS = 3;
const cfg = {
  groupPrefix: 'order-flow',
  consumerMaxAttempts: MAX_ATTEMPTS,
  chaosKillAfterDbCommit: 0,
  topics: { dlq: 'dead-letters' },
} as unknown as ConfigType<typeof kafkaConfig>;

type Charge = TypedEnvelope<'ChargePayment' | 'RefundPayment'>;

const charge = (amount = 25): Envelope => newEnvelope('ChargePayment', randomUUID(), { amount, currency: 'EUR', customerId: 'c-1', attempt: 1 }, { correlationId: 'corr-1' });
const kafkaMessage = (offset: number, value: unknown): KafkaMessage => ({
  key: Buffer.from('k'),
  value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
  offset: String(offset),
  timestamp: String(Date.now()),
  attributes: 0,
  headers: { 'x-correlation-id': 'corr-1' },
});

/** A processor on the fake database, with a payment handler whose work `work` decides. */
function setup(work: (messages: Charge[]) => Promise<void> = () => Promise.resolve()) {
  const db = new FakeDatabase();
  const sent: Array<{ topic: string; value: Record<string, unknown> }> = [];
  const producer = strict('KafkaProducerService', {
    send: (topic: string, messages: Array<{ value: string }>) => {
      for (const m of messages) sent.push({ topic, value: JSON.parse(m.value) as Record<string, unknown> });
      return Promise.resolve();
    },
  }) as unknown as KafkaProducerService;
  const outbox = strict('OutboxService', { flush: jest.fn() });
  const processor = new MessageProcessorService(db.dataSource, outbox as unknown as OutboxService, producer, cfg);
  const handled: Charge[][] = [];
  const handleBatch = (messages: Charge[], tx: EntityManager) => {
    expect(tx).toBeDefined();
    handled.push(messages);
    return work(messages);
  };
  const handler = messageHandler({ group: 'payment', topic: 'paymentRequests', accepts: ['ChargePayment', 'RefundPayment'], handleBatch });
  const committed: Array<{ topic: string; partition: number; offset: string }> = [];
  const consumer = strict('Consumer', {
    commitOffsets: (offsets: typeof committed) => Promise.resolve(void committed.push(...offsets)),
  }) as unknown as Consumer;
  const resolved: string[] = [];
  const batch = (messages: KafkaMessage[], h = handler): MessageBatch => ({
    consumer,
    topic: TOPIC,
    partition: 0,
    messages,
    handler: h,
    resolveOffset: (offset) => void resolved.push(offset),
  });
  /** Runs the batch, then commits the offsets it marked done. */
  const run = async (messages: KafkaMessage[], h = handler) => {
    try {
      await processor.processBatch(batch(messages, h));
    } finally {
      await processor.flushOffsets();
    }
  };
  return { db, sent, outbox, processor, handled, committed, resolved, run };
}

const counted = async (metric: typeof inboxDuplicates | typeof deadLetteredMessages) =>
  (await metric.get()).values.filter((v) => v.labels.consumer_group === GROUP).reduce((n, v) => n + v.value, 0);

describe('MessageProcessorService', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn']));

  it('handles a batch of fresh messages together: one transaction, in offset order, then commits past the last', async () => {
    const t = setup();
    const [a, b, c] = [charge(1), charge(2), charge(3)];
    await t.run([kafkaMessage(10, a), kafkaMessage(11, b), kafkaMessage(12, c)]);
    expect(t.handled).toEqual([
      [expect.objectContaining({ eventId: a.eventId }), expect.objectContaining({ eventId: b.eventId }), expect.objectContaining({ eventId: c.eventId })],
    ]);
    expect(t.db.transactions).toBe(1);
    expect([...t.db.inbox]).toEqual([a, b, c].map((m) => `${GROUP}/${m.eventId}`));
    expect(t.outbox.flush).toHaveBeenCalledTimes(1);
    expect(t.committed).toEqual([{ topic: TOPIC, partition: 0, offset: '13' }]);
    expect(t.resolved).toEqual(['12']);
  });

  it('skips the messages the inbox has seen, and counts them', async () => {
    const t = setup();
    const [seen, fresh] = [charge(1), charge(2)];
    t.db.inbox.add(`${GROUP}/${seen.eventId}`);
    const before = await counted(inboxDuplicates);
    await t.run([kafkaMessage(20, seen), kafkaMessage(21, fresh), kafkaMessage(22, seen)]);
    expect(t.handled).toEqual([[expect.objectContaining({ eventId: fresh.eventId })]]);
    expect((await counted(inboxDuplicates)) - before).toBe(2);
    expect(t.committed).toEqual([{ topic: TOPIC, partition: 0, offset: '23' }]);
  });

  it('does not call the handler when every message is a duplicate, and still moves the offset on', async () => {
    const t = setup();
    const seen = charge();
    t.db.inbox.add(`${GROUP}/${seen.eventId}`);
    await t.run([kafkaMessage(30, seen)]);
    expect(t.handled).toEqual([]);
    expect(t.outbox.flush).toHaveBeenCalledTimes(1);
    expect(t.committed).toEqual([{ topic: TOPIC, partition: 0, offset: '31' }]);
  });

  it('dead-letters a message that is not JSON, has an invalid payload, an unexpected type or an unknown major version, with its reason, and handles the rest', async () => {
    const t = setup();
    const good = charge();
    const invalid = { ...charge(), payload: { amount: 'a lot' } };
    const unexpected = newEnvelope('PaymentCharged', randomUUID(), { paymentId: 'p', amount: 1, currency: 'EUR' }, { correlationId: 'c' });
    const future = { ...charge(), schemaVersion: 99 };
    // A newer producer of the same major version: its extra fields are ignored.
    const extended = { ...charge(), addedLater: true, payload: { amount: 25, currency: 'EUR', customerId: 'c-1', attempt: 1, note: 'new field' } };
    const before = await counted(deadLetteredMessages);
    await t.run([
      kafkaMessage(40, '{not json'),
      kafkaMessage(41, invalid),
      kafkaMessage(42, unexpected),
      kafkaMessage(43, future),
      kafkaMessage(44, extended),
      kafkaMessage(45, good),
    ]);
    expect(t.handled).toEqual([[expect.objectContaining({ eventId: extended.eventId }), expect.objectContaining({ eventId: good.eventId })]]);
    expect(t.handled[0][0]).not.toHaveProperty('addedLater');
    expect(t.handled[0][0].payload).toEqual({ amount: 25, currency: 'EUR', customerId: 'c-1', attempt: 1 });
    expect(t.sent.map((s) => [s.topic, s.value.offset, s.value.attempts, s.value.consumerGroup, s.value.reason])).toEqual([
      ['dead-letters', '40', 1, GROUP, 'INVALID_MESSAGE'],
      ['dead-letters', '41', 1, GROUP, 'INVALID_MESSAGE'],
      ['dead-letters', '42', 1, GROUP, 'UNEXPECTED_EVENT_TYPE'],
      ['dead-letters', '43', 1, GROUP, 'UNSUPPORTED_SCHEMA_VERSION'],
    ]);
    expect(t.sent[0].value).toMatchObject({ originTopic: TOPIC, partition: 0, key: 'k', value: '{not json', headers: { 'x-correlation-id': 'corr-1' } });
    expect(t.sent[2].value.error).toMatch(/unexpected event type PaymentCharged/);
    expect(t.sent[3].value.error).toBe('unsupported schemaVersion 99 of ChargePayment (this consumer reads major 1)');
    // The saga stops waiting for a command the group gave up on: remembered by event id.
    expect(t.db.deadLettered).toEqual([`${GROUP}/${invalid.eventId}`, `${GROUP}/${unexpected.eventId}`, `${GROUP}/${future.eventId}`]);
    expect((await counted(deadLetteredMessages)) - before).toBe(4);
    expect(t.committed).toEqual([{ topic: TOPIC, partition: 0, offset: '46' }]);
  });

  it('passes over the event types a handler ignores without a transaction', async () => {
    const t = setup();
    const refunds = messageHandler({
      group: 'payment',
      topic: 'paymentRequests',
      accepts: ['ChargePayment', 'RefundPayment'],
      ignores: ['ChargePayment'],
      handleBatch: () => Promise.reject(new Error('not for this handler')),
    });
    await t.run([kafkaMessage(50, charge()), kafkaMessage(51, charge())], refunds);
    expect(t.db.transactions).toBe(0);
    expect(t.db.inbox.size).toBe(0);
    expect(t.committed).toEqual([{ topic: TOPIC, partition: 0, offset: '52' }]);
  });

  it('rolls back and rethrows a transient fault, leaving the batch to be fetched again; the retry handles it', async () => {
    let down = true;
    const t = setup(() => (down ? Promise.reject(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })) : Promise.resolve()));
    const messages = [kafkaMessage(60, charge()), kafkaMessage(61, charge())];
    await expect(t.run(messages)).rejects.toThrow('ECONNRESET');
    expect(t.db.inbox.size).toBe(0);
    expect(t.committed).toEqual([]);
    expect(t.resolved).toEqual([]);
    expect(t.handled).toHaveLength(1); // not run one by one: the database is away for every message

    down = false;
    await t.run(messages);
    expect(t.db.inbox.size).toBe(2);
    expect(t.committed).toEqual([{ topic: TOPIC, partition: 0, offset: '62' }]);
  });

  it('runs a failed batch one by one: the others are done, the failing message is retried and dead-lettered after its last attempt', async () => {
    const [ok, bad, later] = [charge(1), charge(2), charge(3)];
    const t = setup((messages) => (messages.some((m) => m.eventId === bad.eventId) ? Promise.reject(new Error('no such customer')) : Promise.resolve()));
    const messages = [kafkaMessage(70, ok), kafkaMessage(71, bad), kafkaMessage(72, later)];

    for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) {
      await expect(t.run(messages.slice(attempt === 1 ? 0 : 1))).rejects.toThrow('no such customer');
    }
    // The first run handled `ok` alone and committed it; `bad` stopped the run before `later`.
    expect(t.committed).toEqual([{ topic: TOPIC, partition: 0, offset: '71' }]);
    expect(t.db.inbox.has(`${GROUP}/${ok.eventId}`)).toBe(true);
    expect(t.sent).toEqual([]);

    await t.run(messages.slice(1));
    expect(t.sent).toEqual([
      { topic: 'dead-letters', value: expect.objectContaining({ offset: '71', attempts: MAX_ATTEMPTS, reason: 'PROCESSING_FAILED', error: 'no such customer' }) },
    ]);
    expect(t.db.inbox.has(`${GROUP}/${bad.eventId}`)).toBe(false);
    expect(t.db.inbox.has(`${GROUP}/${later.eventId}`)).toBe(true);
    expect(t.committed.at(-1)).toEqual({ topic: TOPIC, partition: 0, offset: '73' });
  });

  it('dead-letters a message its handler calls poison on the first run alone', async () => {
    const bad = charge();
    const t = setup(() => Promise.reject(new PoisonMessageError('no order')));
    await t.run([kafkaMessage(80, bad)]);
    expect(t.sent).toEqual([{ topic: 'dead-letters', value: expect.objectContaining({ offset: '80', attempts: 1, reason: 'PROCESSING_FAILED', error: 'no order' }) }]);
    expect(t.committed).toEqual([{ topic: TOPIC, partition: 0, offset: '81' }]);
  });
});

describe('MessageProcessorService: one handling duration observed per message, by outcome', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn']));

  /** The observations of this group and topic so far, by outcome. */
  async function outcomes(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const v of (await messageHandlingDuration.get()).values) {
      if (v.metricName?.endsWith('_count') && v.labels.group === GROUP && v.labels.topic === TOPIC) counts[String(v.labels.outcome)] = v.value;
    }
    return counts;
  }

  /** The observations `run` added, by outcome (its failure, a message left to be fetched again, is expected). */
  async function observed(run: () => Promise<unknown>): Promise<Record<string, number>> {
    const before = await outcomes();
    await run().catch(() => undefined);
    const after = await outcomes();
    return Object.fromEntries(Object.entries(after).flatMap(([outcome, n]) => (n - (before[outcome] ?? 0) ? [[outcome, n - (before[outcome] ?? 0)]] : [])));
  }

  const refund = (): Envelope => newEnvelope('RefundPayment', randomUUID(), { reason: 'PAYMENT_FAILED' }, { correlationId: 'corr-1' });

  it('processed and duplicate, from one batch', async () => {
    const t = setup();
    const [seen, fresh] = [charge(1), charge(2)];
    t.db.inbox.add(`${GROUP}/${seen.eventId}`);
    expect(await observed(() => t.run([kafkaMessage(100, seen), kafkaMessage(101, fresh), kafkaMessage(102, seen)]))).toEqual({ processed: 1, duplicate: 2 });
  });

  it('ignored and dead_lettered, beside the processed ones', async () => {
    const t = setup();
    const refunds = messageHandler({
      group: 'payment',
      topic: 'paymentRequests',
      accepts: ['ChargePayment', 'RefundPayment'],
      ignores: ['ChargePayment'],
      handleBatch: () => Promise.resolve(),
    });
    const batch = [kafkaMessage(110, charge()), kafkaMessage(111, '{not json'), kafkaMessage(112, refund())];
    expect(await observed(() => t.run(batch, refunds))).toEqual({ ignored: 1, dead_lettered: 1, processed: 1 });
  });

  it('retried for each message of a batch the database failed, and for a failing message until it is dead-lettered', async () => {
    const transient = setup(() => Promise.reject(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })));
    expect(await observed(() => transient.run([kafkaMessage(120, charge()), kafkaMessage(121, charge())]))).toEqual({ retried: 2 });

    const [ok, bad] = [charge(1), charge(2)];
    const t = setup((messages) => (messages.some((m) => m.eventId === bad.eventId) ? Promise.reject(new Error('no such customer')) : Promise.resolve()));
    expect(await observed(() => t.run([kafkaMessage(130, ok), kafkaMessage(131, bad)]))).toEqual({ processed: 1, retried: 1 });
    for (let attempt = 2; attempt < MAX_ATTEMPTS; attempt++) expect(await observed(() => t.run([kafkaMessage(131, bad)]))).toEqual({ retried: 1 });
    expect(await observed(() => t.run([kafkaMessage(131, bad)]))).toEqual({ dead_lettered: 1 });
  });
});
