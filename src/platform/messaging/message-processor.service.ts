import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { Consumer, KafkaMessage } from 'kafkajs';
import { DataSource } from 'typeorm';
import { kafkaConfig } from '../../config/kafka.config.js';
import { DEAD_LETTER_EVENT_TYPE, type DeadLetterReason } from '../../contracts/dead-letter.js';
import { HEADER_CORRELATION_ID, HEADER_EVENT_TYPE } from '../../contracts/envelope.js';
import { ContractViolation, parseMessage } from '../../contracts/parse-message.js';
import { leanTransaction, type LeanTransaction } from '../database/lean-transaction.js';
import { affectedRows, SqlBatch } from '../database/sql-batch.js';
import { correlation, messageTrace } from '../observability/correlation.js';
import { deadLetteredMessages, inboxDuplicates, messageHandlingDuration, type MessageOutcome } from '../observability/metrics.counters.js';
import { observedOnCommit } from '../observability/metrics.on-commit.js';
import { startConsumerSpans, tracingEnabled, type ConsumedMessage, type ConsumerSpans } from '../observability/tracing.js';
import type { DeadLetter } from './dead-letters.js';
import { KafkaProducerService } from './kafka-producer.service.js';
import type { ConsumerGroupName } from './consumer-groups.js';
import type { AnyMessageHandler, TypedEnvelope } from './message-handlers.js';
import { OutboxService } from './outbox.service.js';
import { isLockConflict, isTransient } from './transient-error.js';

export type { TypedEnvelope } from './message-handlers.js';

/** A message that can never be processed as it is: dead-lettered at once. */
export class PoisonMessageError extends Error {
  override name = 'PoisonMessageError';
}

/** Messages of one partition, fetched together, for one handler. */
export interface MessageBatch {
  consumer: Consumer;
  topic: string;
  partition: number;
  /** In offset order. */
  messages: KafkaMessage[];
  handler: AnyMessageHandler;
  /** Tells kafkajs a message is done, so it is not fetched again (the commit is separate). */
  resolveOffset(offset: string): void;
}

/** A batch as the processor runs it: with when its handling started (for the handling duration). */
interface TimedBatch extends MessageBatch {
  started: number;
}

/** A message of a batch that has been validated and has work to do. */
interface Work {
  message: KafkaMessage;
  consumerGroup: string;
  attemptKey: string;
  envelope: TypedEnvelope;
}

/** A message of a batch, with its work or null if it needed none (`ignored`, or dead-lettered as invalid). */
interface Entry {
  message: KafkaMessage;
  work: Work | null;
  ignored: boolean;
}

/**
 * Runs Kafka messages through the rules of docs/architecture.md §5 and §7.3 for a consumer group:
 * validate (envelope and payload), de-duplicate through the inbox table in the same transaction as
 * the handler's work, commit the offset only after the database commit, retry transient faults
 * without ever skipping, and dead-letter a message that is invalid or keeps failing.
 *
 * A batch of one partition is handled in one transaction (one inbox round trip, one commit, one
 * fsync), since per-message transactions made the database round trips, not the work, the limit.
 * If the batch fails for any reason but an unreachable dependency, it is rolled back and its
 * messages are run again one by one, each in its own transaction, so one bad message is retried,
 * counted and dead-lettered exactly as alone.
 */
@Injectable()
export class MessageProcessorService implements OnApplicationShutdown {
  private readonly logger = new Logger(MessageProcessorService.name);
  /** Failed attempts per message (group/topic/partition/offset), for deterministic failures. */
  private readonly attempts = new Map<string, number>();
  /** Offsets whose database work has committed, waiting for the next offset commit, per consumer. */
  private readonly pendingOffsets = new Map<Consumer, Map<string, { topic: string; partition: number; offset: string }>>();
  private flushTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxService,
    private readonly producer: KafkaProducerService,
    @Inject(kafkaConfig.KEY) private readonly cfg: ConfigType<typeof kafkaConfig>,
  ) {}

  groupId(name: ConsumerGroupName): string {
    return `${this.cfg.groupPrefix}-${name}`;
  }

  /** Validates the batch's messages, does all their work in one transaction, and marks the batch done. */
  async processBatch(untimed: MessageBatch): Promise<void> {
    const batch: TimedBatch = { ...untimed, started: performance.now() };
    const entries = await this.validate(batch);
    const work = entries.flatMap((e) => (e.work ? [e.work] : []));
    if (work.length && !(await this.runTogether(batch, work))) {
      await this.runOneByOne(batch, entries);
      return;
    }
    this.observe(batch, 'ignored', entries.filter((e) => e.ignored).length);
    const lastOffset = batch.messages[batch.messages.length - 1].offset;
    this.markDone(batch.consumer, batch.topic, batch.partition, lastOffset);
    batch.resolveOffset(lastOffset);
  }

  /** Parses each message in order; dead-letters those that are invalid and passes over those the handler ignores. */
  private async validate(batch: TimedBatch): Promise<Entry[]> {
    const { handler } = batch;
    const consumerGroup = this.groupId(handler.group);
    const entries: Entry[] = [];
    for (const message of batch.messages) {
      let envelope: TypedEnvelope;
      try {
        envelope = parseMessage(message.value, handler.accepts);
      } catch (err) {
        // Dead-lettered at once. If the rest of its batch is then rolled back and fetched again, it is
        // dead-lettered again: the DLQ is at-least-once, like every topic.
        const reason = err instanceof ContractViolation ? err.reason : 'INVALID_MESSAGE';
        await this.deadLetter(batch, message, consumerGroup, err as Error, 1, reason);
        entries.push({ message, work: null, ignored: false });
        continue;
      }
      const ignored = handler.ignores.includes(envelope.eventType);
      const attemptKey = `${consumerGroup}/${batch.topic}/${batch.partition}/${message.offset}`;
      entries.push({ message, work: ignored ? null : { message, consumerGroup, attemptKey, envelope }, ignored });
    }
    return entries;
  }

  /**
   * All the batch's work in one transaction. False when it failed and its messages should be run one
   * by one; throws (nothing resolved, kafkajs fetches the batch again after its backoff) when the
   * database or the broker is unreachable.
   */
  private async runTogether(batch: TimedBatch, work: Work[]): Promise<boolean> {
    let duplicates = 0;
    const spans = this.startSpans(batch, work);
    try {
      await observedOnCommit(() =>
        traced(spans, () =>
          leanTransaction(this.dataSource, async (lean) => {
            const fresh = await this.recordInInbox(lean, work);
            duplicates = work.length - fresh.length;
            const envelopes = fresh.map((w) => w.envelope);
            if (envelopes.length) await batch.handler.handleBatch(envelopes, lean.manager);
          }),
        ),
      );
      spans?.end();
    } catch (err) {
      spans?.end(err);
      if (isTransient(err) && !isLockConflict(err)) {
        this.logger.warn(`transient failure on a batch of ${work.length} from ${batch.topic}/${batch.partition}, will retry: ${(err as Error).message}`);
        this.observe(batch, 'retried', work.length);
        throw err;
      }
      this.logger.warn(`a batch of ${work.length} from ${batch.topic}/${batch.partition} failed (${(err as Error).message}); running its messages one by one`);
      return false;
    }
    this.chaosKillAfterDbCommit();
    for (const w of work) this.attempts.delete(w.attemptKey);
    this.countDuplicates(work[0].consumerGroup, duplicates);
    this.observe(batch, 'processed', work.length - duplicates);
    this.observe(batch, 'duplicate', duplicates);
    this.outbox.flush();
    return true;
  }

  /** The fallback of a failed batch: each message in its own transaction, in order. */
  private async runOneByOne(batch: TimedBatch, entries: Entry[]): Promise<void> {
    for (const { message, work, ignored } of entries) {
      // processOne throws (after its own bookkeeping) to have this message and the rest fetched again.
      if (work) await this.processOne(batch, work);
      else this.markDone(batch.consumer, batch.topic, batch.partition, message.offset);
      if (ignored) this.observe(batch, 'ignored');
      batch.resolveOffset(message.offset);
    }
  }

  /**
   * Records the batch's messages in the inbox and returns those not seen before, in order. One
   * multi-row INSERT IGNORE (in the round trip that opens the transaction) when none was seen
   * before, the usual case; after a redelivery, one statement per message tells which were new.
   */
  private async recordInInbox(lean: LeanTransaction, work: Work[]): Promise<Work[]> {
    const all = new SqlBatch();
    all.add('SAVEPOINT inbox');
    const inserted = all.addRows(
      'INSERT IGNORE INTO processed_messages (consumer_group, event_id)',
      work.map((w) => [w.consumerGroup, w.envelope.eventId]),
    );
    if (affectedRows((await lean.run(all))[inserted]) === work.length) return work;

    const each = new SqlBatch();
    each.add('ROLLBACK TO SAVEPOINT inbox');
    const first = each.size;
    for (const w of work) each.add('INSERT IGNORE INTO processed_messages (consumer_group, event_id) VALUES (?, ?)', [w.consumerGroup, w.envelope.eventId]);
    const results = await lean.run(each);
    return work.filter((w, i) => {
      // Seen before (or twice in this batch): the inbox makes redelivery a no-op.
      if (affectedRows(results[first + i]) > 0) return true;
      this.logger.debug(`duplicate ${w.envelope.eventType} ${w.envelope.eventId} ignored`);
      return false;
    });
  }

  /** The spans of the messages' handling, continuing their producers' traces; null (and no work) when tracing is off. */
  private startSpans(batch: TimedBatch, work: Work[]): ConsumerSpans | null {
    if (!tracingEnabled()) return null;
    return startConsumerSpans({ topic: batch.topic, partition: batch.partition, group: work[0].consumerGroup }, work.map(consumedOf));
  }

  /** Counts what the inbox absorbed (once committed): each one a redelivery, which a clean shutdown never causes. */
  private countDuplicates(consumerGroup: string, n: number): void {
    if (n > 0) inboxDuplicates.inc({ consumer_group: consumerGroup }, n);
  }

  /** One message in its own transaction, with the attempt counting and dead-lettering of §7.3. */
  private async processOne(batch: TimedBatch, work: Work): Promise<void> {
    const { message, consumerGroup, attemptKey, envelope } = work;
    await correlation.run(messageTrace(envelope), async () => {
      const spans = this.startSpans(batch, [work]);
      try {
        const handled = await observedOnCommit(() =>
          traced(spans, () =>
            leanTransaction(this.dataSource, async (lean) => {
              if (!(await this.recordInInbox(lean, [work])).length) return false;
              await batch.handler.handleBatch([envelope], lean.manager);
              return true;
            }),
          ),
        );
        spans?.end();
        this.chaosKillAfterDbCommit();
        this.attempts.delete(attemptKey);
        this.observe(batch, handled ? 'processed' : 'duplicate');
        if (handled) this.outbox.flush();
        else this.countDuplicates(consumerGroup, 1);
      } catch (err) {
        spans?.end(err);
        await this.failedAlone(batch, work, err);
      }
      this.markDone(batch.consumer, batch.topic, batch.partition, message.offset);
    });
  }

  /** Rethrows a failure to have the message fetched again, unless it has run out of attempts: then it is dead-lettered. */
  private async failedAlone(batch: TimedBatch, { message, consumerGroup, attemptKey, envelope }: Work, err: unknown): Promise<void> {
    if (isTransient(err)) {
      // Kafka redelivers from the uncommitted offset after its backoff; nothing is skipped.
      this.logger.warn(`transient failure on ${envelope.eventType} ${envelope.eventId}, will retry: ${(err as Error).message}`);
      this.observe(batch, 'retried');
      throw err;
    }
    const attempt = (this.attempts.get(attemptKey) ?? 0) + 1;
    if (!(err instanceof PoisonMessageError) && attempt < this.cfg.consumerMaxAttempts) {
      this.attempts.set(attemptKey, attempt);
      this.logger.warn(`${envelope.eventType} ${envelope.eventId} failed (attempt ${attempt}/${this.cfg.consumerMaxAttempts}): ${(err as Error).message}`);
      this.observe(batch, 'retried');
      throw err;
    }
    this.attempts.delete(attemptKey);
    await this.deadLetter(batch, message, consumerGroup, err as Error, attempt, 'PROCESSING_FAILED');
  }

  /** `count` messages of the batch reached `outcome` now: one observation each of the time since the batch started. */
  private observe(batch: TimedBatch, outcome: MessageOutcome, count = 1): void {
    if (count <= 0) return;
    const seconds = (performance.now() - batch.started) / 1000;
    const series = messageHandlingDuration.labels({ group: this.groupId(batch.handler.group), topic: batch.topic, outcome });
    for (let i = 0; i < count; i++) series.observe(seconds);
  }

  /** The chaos suite's crash between a database commit and its offset commit (CHAOS_KILL_AFTER_DB_COMMIT; off by default). */
  private chaosKillAfterDbCommit(): void {
    if (this.cfg.chaosKillAfterDbCommit > 0 && Math.random() < this.cfg.chaosKillAfterDbCommit) process.kill(process.pid, 'SIGKILL');
  }

  private async deadLetter(batch: TimedBatch, raw: KafkaMessage, consumerGroup: string, err: Error, attempts: number, reason: DeadLetterReason): Promise<void> {
    const letter = deadLetterOf(batch, raw, consumerGroup, { err, attempts, reason });
    const { headers } = letter;
    // Straight to Kafka (acks=all) before the offset moves on; if that fails the message is retried.
    await this.producer.send(this.cfg.topics.dlq, [
      {
        key: letter.key,
        value: JSON.stringify(letter),
        headers: {
          [HEADER_EVENT_TYPE]: DEAD_LETTER_EVENT_TYPE,
          ...(headers[HEADER_CORRELATION_ID] ? { [HEADER_CORRELATION_ID]: headers[HEADER_CORRELATION_ID] } : {}),
        },
      },
    ]);
    deadLetteredMessages.inc({ consumer_group: consumerGroup, topic: letter.originTopic });
    this.observe(batch, 'dead_lettered');
    await this.rememberDeadLetter(consumerGroup, letter.value);
    this.logger.error(`dead-lettered ${letter.originTopic}/${letter.partition}@${letter.offset} for ${consumerGroup} after ${attempts} attempt(s) (${reason}): ${err.message}`);
  }

  /**
   * Records that the group gave up on the message, so the saga stops waiting for a command that will
   * not be handled and lets the step's deadline run. Best effort: without it the saga waits out its
   * delivery grace instead. A replayed letter is handled as usual (the inbox holds no row for it).
   */
  private async rememberDeadLetter(consumerGroup: string, value: string | null): Promise<void> {
    let eventId: unknown;
    try {
      eventId = value === null ? undefined : (JSON.parse(value) as { eventId?: unknown }).eventId;
    } catch {
      return; // not JSON: no event id to remember
    }
    if (typeof eventId !== 'string' || eventId.length !== 36) return;
    await this.dataSource
      .query('INSERT IGNORE INTO dead_lettered_messages (consumer_group, event_id) VALUES (?, ?)', [consumerGroup, eventId])
      .catch((err: Error) => this.logger.warn(`could not record the dead letter ${eventId} of ${consumerGroup}: ${err.message}`));
  }

  /**
   * Marks the message done. Offsets are committed manually, only for messages whose database work
   * has committed, and batched per consumer every few milliseconds: one round trip to Kafka for many
   * messages. A crash before the commit means a redelivery, which the inbox absorbs.
   */
  private markDone(consumer: Consumer, topic: string, partition: number, offset: string): void {
    let pending = this.pendingOffsets.get(consumer);
    if (!pending) {
      pending = new Map();
      this.pendingOffsets.set(consumer, pending);
    }
    pending.set(`${topic}|${partition}`, { topic, partition, offset: (BigInt(offset) + 1n).toString() });
    if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => void this.flushOffsets(), OFFSET_COMMIT_INTERVAL_MS);
      this.flushTimer.unref();
    }
  }

  async flushOffsets(): Promise<void> {
    this.flushTimer = null;
    const batches = [...this.pendingOffsets];
    this.pendingOffsets.clear();
    await Promise.all(batches.map(([consumer, offsets]) => this.commitOffsets(consumer, offsets)));
  }

  /** Commits now what the consumer has done and not yet committed (before it leaves its group). */
  async commitPending(consumer: Consumer): Promise<void> {
    const offsets = this.pendingOffsets.get(consumer);
    if (!offsets) return;
    this.pendingOffsets.delete(consumer);
    await this.commitOffsets(consumer, offsets);
  }

  private async commitOffsets(consumer: Consumer, offsets: Map<string, { topic: string; partition: number; offset: string }>): Promise<void> {
    await consumer.commitOffsets([...offsets.values()]).catch((err: Error) => {
      // The database work is committed; a redelivery is absorbed by the inbox.
      this.logger.warn(`offset commit failed (${err.message}); a redelivery will be ignored by the inbox`);
    });
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    await this.flushOffsets();
  }
}

// A crash loses at most this much of committed progress to redelivery (which the inbox absorbs);
// shorter means more OffsetCommit requests for the broker to write.
const OFFSET_COMMIT_INTERVAL_MS = 100;

/** `fn` inside the messages' spans, when there are any. */
function traced<T>(spans: ConsumerSpans | null, fn: () => Promise<T>): Promise<T> {
  return spans ? spans.run(fn) : fn();
}

/** What a message's span records of it. */
function consumedOf({ message, envelope }: Work): ConsumedMessage {
  return { headers: message.headers, offset: message.offset, eventId: envelope.eventId, eventType: envelope.eventType, orderId: envelope.orderId };
}

/** What the DLQ keeps of a message: where it was, why it failed, and the message as it came. */
function deadLetterOf(batch: MessageBatch, raw: KafkaMessage, consumerGroup: string, why: { err: Error; attempts: number; reason: DeadLetterReason }): DeadLetter {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw.headers ?? {})) if (v !== undefined) headers[k] = String(v);
  return {
    originTopic: batch.topic,
    partition: batch.partition,
    offset: raw.offset,
    consumerGroup,
    reason: why.reason,
    error: why.err.message,
    attempts: why.attempts,
    failedAt: new Date().toISOString(),
    key: raw.key === null || raw.key === undefined ? null : String(raw.key),
    headers,
    value: raw.value === null || raw.value === undefined ? null : raw.value.toString('utf8'),
  };
}
