import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { KafkaContext } from '@nestjs/microservices';
import type { Consumer } from 'kafkajs';
import { DataSource, type EntityManager } from 'typeorm';
import { kafkaConfig } from '../../config/kafka.config.js';
import { envelopeSchema, HEADER_CORRELATION_ID, HEADER_EVENT_TYPE, type Envelope } from '../../contracts/envelope.js';
import { isEventType, payloadSchemas, type EventType, type Payloads } from '../../contracts/messages.js';
import { affectedRows } from '../database/sql-batch.js';
import { correlation } from '../observability/correlation.js';
import { deadLetteredMessages } from '../observability/metrics.counters.js';
import { KafkaProducerService } from './kafka-producer.service.js';
import { OutboxService } from './outbox.service.js';
import { isTransient } from './transient-error.js';

export type TypedEnvelope<T extends EventType = EventType> = { [K in T]: Envelope<K, Payloads[K]> }[T];

export type MessageHandler<T extends EventType> = (message: TypedEnvelope<T>, tx: EntityManager) => Promise<void>;

/** A message that can never be processed as it is: dead-lettered at once. */
export class PoisonMessageError extends Error {
  override name = 'PoisonMessageError';
}

export interface DeadLetter {
  originTopic: string;
  partition: number;
  offset: string;
  consumerGroup: string;
  error: string;
  attempts: number;
  failedAt: string;
  key: string | null;
  headers: Record<string, string>;
  value: string | null;
}

/**
 * Runs one Kafka message through the rules of DESIGN §5 and §7.3 for a consumer group:
 * validate (envelope and payload), de-duplicate through the inbox table in the same transaction as
 * the handler's work, commit the offset only after the database commit, retry transient faults
 * without ever skipping, and dead-letter a message that is invalid or keeps failing.
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

  groupId(name: string): string {
    return `${this.cfg.groupPrefix}-${name}`;
  }

  /**
   * @param accepts the event types this group expects on the topic (anything else is dead-lettered)
   * @param ignores accepted types this group has nothing to do with (they share a topic with its
   *   own): validated, then passed over without touching the database
   */
  async process<T extends EventType>(group: string, ctx: KafkaContext, accepts: readonly T[], handler: MessageHandler<T>, ignores: readonly EventType[] = []): Promise<void> {
    const raw = ctx.getMessage();
    const topic = ctx.getTopic();
    const partition = ctx.getPartition();
    const offset = raw.offset;
    const consumerGroup = this.groupId(group);
    const attemptKey = `${consumerGroup}/${topic}/${partition}/${offset}`;

    let envelope: TypedEnvelope<T>;
    try {
      envelope = this.parse(raw.value, accepts);
    } catch (err) {
      await this.deadLetter(ctx, consumerGroup, err as Error, 1);
      this.commit(ctx);
      return;
    }

    if (ignores.includes(envelope.eventType)) {
      this.commit(ctx);
      return;
    }

    const trace = { correlationId: envelope.correlationId, orderId: envelope.orderId, eventId: envelope.eventId };
    await correlation.run(trace, async () => {
      try {
        const handled = await this.dataSource.transaction(async (tx) => {
          const result = await tx.query('INSERT IGNORE INTO processed_messages (consumer_group, event_id) VALUES (?, ?)', [consumerGroup, envelope.eventId]);
          if (affectedRows(result) === 0) return false; // seen before: the inbox makes redelivery a no-op
          await handler(envelope, tx);
          return true;
        });
        this.attempts.delete(attemptKey);
        if (handled) this.outbox.flush();
        else this.logger.debug(`duplicate ${envelope.eventType} ${envelope.eventId} ignored`);
      } catch (err) {
        if (isTransient(err)) {
          // Kafka redelivers from the uncommitted offset after its backoff; nothing is skipped.
          this.logger.warn(`transient failure on ${envelope.eventType} ${envelope.eventId}, will retry: ${(err as Error).message}`);
          throw err;
        }
        const attempt = (this.attempts.get(attemptKey) ?? 0) + 1;
        if (!(err instanceof PoisonMessageError) && attempt < this.cfg.consumerMaxAttempts) {
          this.attempts.set(attemptKey, attempt);
          this.logger.warn(`${envelope.eventType} ${envelope.eventId} failed (attempt ${attempt}/${this.cfg.consumerMaxAttempts}): ${(err as Error).message}`);
          throw err;
        }
        this.attempts.delete(attemptKey);
        await this.deadLetter(ctx, consumerGroup, err as Error, attempt);
      }
      this.commit(ctx);
    });
  }

  private parse<T extends EventType>(value: unknown, accepts: readonly T[]): TypedEnvelope<T> {
    let data = value;
    if (Buffer.isBuffer(data)) data = data.toString('utf8');
    if (typeof data === 'string') {
      try {
        data = JSON.parse(data);
      } catch {
        throw new PoisonMessageError('value is not JSON');
      }
    }
    const env = envelopeSchema.validate(data, { abortEarly: false, allowUnknown: false });
    if (env.error) throw new PoisonMessageError(`invalid envelope: ${env.error.message}`);
    const envelope = env.value as Envelope;
    if (!isEventType(envelope.eventType) || !(accepts as readonly string[]).includes(envelope.eventType)) {
      throw new PoisonMessageError(`unexpected event type ${envelope.eventType} (expected ${accepts.join(', ')})`);
    }
    const payload = payloadSchemas[envelope.eventType].validate(envelope.payload, { abortEarly: false });
    if (payload.error) throw new PoisonMessageError(`invalid ${envelope.eventType} payload: ${payload.error.message}`);
    return { ...envelope, payload: payload.value } as TypedEnvelope<T>;
  }

  private async deadLetter(ctx: KafkaContext, consumerGroup: string, err: Error, attempts: number): Promise<void> {
    const raw = ctx.getMessage();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw.headers ?? {})) if (v !== undefined) headers[k] = String(v);
    const value = raw.value === null || raw.value === undefined ? null : typeof raw.value === 'string' ? raw.value : JSON.stringify(raw.value);
    const letter: DeadLetter = {
      originTopic: ctx.getTopic(),
      partition: ctx.getPartition(),
      offset: raw.offset,
      consumerGroup,
      error: err.message,
      attempts,
      failedAt: new Date().toISOString(),
      key: raw.key === null || raw.key === undefined ? null : String(raw.key),
      headers,
      value,
    };
    // Straight to Kafka (acks=all) before the offset moves on; if that fails the message is retried.
    await this.producer.send(this.cfg.topics.dlq, [
      {
        key: letter.key,
        value: JSON.stringify(letter),
        headers: {
          [HEADER_EVENT_TYPE]: 'DeadLetter',
          ...(headers[HEADER_CORRELATION_ID] ? { [HEADER_CORRELATION_ID]: headers[HEADER_CORRELATION_ID] } : {}),
        },
      },
    ]);
    deadLetteredMessages.inc({ consumer_group: consumerGroup, topic: letter.originTopic });
    this.logger.error(`dead-lettered ${letter.originTopic}/${letter.partition}@${letter.offset} for ${consumerGroup} after ${attempts} attempt(s): ${err.message}`);
  }

  /**
   * Marks the message done. Offsets are committed manually, only for messages whose database work
   * has committed, and batched per consumer every few milliseconds: one round trip to Kafka for many
   * messages. A crash before the commit means a redelivery, which the inbox absorbs.
   */
  private commit(ctx: KafkaContext): void {
    const consumer = ctx.getConsumer();
    let pending = this.pendingOffsets.get(consumer);
    if (!pending) {
      pending = new Map();
      this.pendingOffsets.set(consumer, pending);
    }
    const topic = ctx.getTopic();
    const partition = ctx.getPartition();
    pending.set(`${topic}|${partition}`, { topic, partition, offset: (BigInt(ctx.getMessage().offset) + 1n).toString() });
    if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => void this.flushOffsets(), OFFSET_COMMIT_INTERVAL_MS);
      this.flushTimer.unref();
    }
  }

  async flushOffsets(): Promise<void> {
    this.flushTimer = null;
    const batches = [...this.pendingOffsets];
    this.pendingOffsets.clear();
    await Promise.all(
      batches.map(([consumer, offsets]) =>
        consumer.commitOffsets([...offsets.values()]).catch((err: Error) => {
          // The database work is committed; a redelivery is absorbed by the inbox.
          this.logger.warn(`offset commit failed (${err.message}); a redelivery will be ignored by the inbox`);
        }),
      ),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    await this.flushOffsets();
  }
}

const OFFSET_COMMIT_INTERVAL_MS = 20;
