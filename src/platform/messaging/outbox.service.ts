import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { kafkaConfig } from '../../config/kafka.config.js';
import { outboxConfig } from '../../config/outbox.config.js';
import { HEADER_CORRELATION_ID, HEADER_EVENT_TYPE, newEnvelope, type Envelope } from '../../contracts/envelope.js';
import type { EventType, Payloads } from '../../contracts/messages.js';
import { TOPIC_OF } from '../../contracts/topics.js';
import { SqlBatch } from '../database/sql-batch.js';
import { OutboxRelayService } from './outbox-relay.service.js';

export interface Trace {
  correlationId: string;
  /** The eventId of the message that caused this one. */
  causationId?: string;
}

export interface EnqueueOptions {
  /** Publish no earlier than this many milliseconds after now (simulated latency). */
  delayMs?: number;
}

/** The outbox shard of an order: every message of one order lands in the same shard. */
export function shardOf(orderId: string, shards: number): number {
  return createHash('sha1').update(orderId).digest().readUInt32BE(0) % shards;
}

/**
 * Writes messages into the outbox inside the caller's transaction, so they are committed together
 * with the state change that caused them (DESIGN §7.2). The relay publishes them after the commit.
 */
@Injectable()
export class OutboxService {
  constructor(
    @Inject(kafkaConfig.KEY) private readonly kafka: ConfigType<typeof kafkaConfig>,
    @Inject(outboxConfig.KEY) private readonly cfg: ConfigType<typeof outboxConfig>,
    private readonly relay: OutboxRelayService,
  ) {}

  /** Builds the envelope for `type` and stages it in the transaction `tx`. */
  async enqueue<T extends EventType>(
    tx: EntityManager,
    type: T,
    orderId: string,
    payload: Payloads[T],
    trace: Trace,
    options: EnqueueOptions = {},
  ): Promise<Envelope<T, Payloads[T]>> {
    const envelope = newEnvelope(type, orderId, payload, trace);
    await this.enqueueEnvelopes(tx, [envelope], options);
    return envelope;
  }

  async enqueueEnvelopes(tx: EntityManager, envelopes: Envelope[], options: EnqueueOptions = {}): Promise<void> {
    if (!envelopes.length) return;
    const batch = new SqlBatch();
    this.stage(batch, envelopes, options);
    await batch.run(tx);
  }

  /** Adds the one INSERT that stages `envelopes` to `batch` (the caller runs it in its transaction). */
  stage(batch: SqlBatch, envelopes: Envelope[], options: EnqueueOptions = {}): void {
    if (!envelopes.length) return;
    const availableAt = new Date(Date.now() + Math.max(0, options.delayMs ?? 0));
    const rows = envelopes.map((e) => {
      const topic = this.kafka.topics[TOPIC_OF[e.eventType as EventType]];
      const headers = { [HEADER_CORRELATION_ID]: e.correlationId, [HEADER_EVENT_TYPE]: e.eventType };
      return [shardOf(e.orderId, this.cfg.shards), topic, e.orderId, e.eventId, e.eventType, JSON.stringify(headers), JSON.stringify(e), availableAt];
    });
    batch.add(
      `INSERT INTO outbox (shard, topic, message_key, event_id, event_type, headers, payload, available_at) VALUES ${rows.map(() => '(?,?,?,?,?,?,?,?)').join(',')}`,
      rows.flat(),
    );
    if (options.delayMs) this.relay.wakeAt(availableAt);
  }

  /** Call after the transaction committed: publishes now instead of at the next poll. */
  flush(): void {
    this.relay.kick();
  }
}
