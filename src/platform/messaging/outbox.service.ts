import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { createHash } from 'node:crypto';
import { kafkaConfig } from '../../config/kafka.config.js';
import { outboxConfig } from '../../config/outbox.config.js';
import { HEADER_CORRELATION_ID, HEADER_EVENT_TYPE, type Envelope } from '../../contracts/envelope.js';
import type { EventType } from '../../contracts/messages.js';
import { TOPIC_OF } from '../../contracts/topics.js';
import { SqlBatch } from '../database/sql-batch.js';
import { outgoingTraceHeaders } from '../observability/tracing.js';
import { OutboxRelayService } from './outbox-relay.service.js';

export interface Trace {
  correlationId: string;
  /** The eventId of the message that caused this one. */
  causationId?: string;
}

/** The trace of the messages `message` causes: same correlation, caused by its event. */
export function causedBy(message: { correlationId: string; eventId: string }): Trace {
  return { correlationId: message.correlationId, causationId: message.eventId };
}

/** One outbox row's values: available `delay` microseconds from now by the database's clock. */
const STAGED_ROW = '(?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3) + INTERVAL ? MICROSECOND)';

/** Messages caused by one command, to be published `delayMs` after now (simulated latency). */
export interface OutgoingMessages {
  messages: Envelope[];
  delayMs: number;
}

export interface StageOptions {
  /** Publish no earlier than this many milliseconds after now (simulated latency). */
  delayMs?: number;
}

/** The outbox shard of an order: every message of one order lands in the same shard. */
export function shardOf(orderId: string, shards: number): number {
  return createHash('sha1').update(orderId).digest().readUInt32BE(0) % shards;
}

/**
 * Stages messages into the outbox in the caller's batch, so they are committed together with the
 * state change that caused them (docs/architecture.md §7.2). The relay publishes them after the commit.
 */
@Injectable()
export class OutboxService {
  constructor(
    @Inject(kafkaConfig.KEY) private readonly kafka: ConfigType<typeof kafkaConfig>,
    @Inject(outboxConfig.KEY) private readonly cfg: ConfigType<typeof outboxConfig>,
    private readonly relay: OutboxRelayService,
  ) {}

  /** Adds the one INSERT that stages `envelopes` to `batch` (the caller runs it in its transaction). */
  stage(batch: SqlBatch, envelopes: Envelope[], options: StageOptions = {}): void {
    this.stageEach(batch, [{ messages: envelopes, delayMs: options.delayMs ?? 0 }]);
  }

  /**
   * Adds the one INSERT that stages the messages of several commands, each group with its own delay
   * (a batch of commands whose simulated latencies differ), in the order given.
   */
  stageEach(batch: SqlBatch, groups: readonly OutgoingMessages[]): void {
    const rows: unknown[][] = [];
    for (const { messages, delayMs } of groups) {
      if (!messages.length) continue;
      const delay = Math.max(0, Math.round(delayMs));
      for (const e of messages) {
        const topic = this.kafka.topics[TOPIC_OF[e.eventType as EventType]];
        const headers = { [HEADER_CORRELATION_ID]: e.correlationId, [HEADER_EVENT_TYPE]: e.eventType };
        // The trace the message continues (null, and no work, when tracing is off): see tracing.ts.
        const traced = outgoingTraceHeaders(e.causationId);
        rows.push([
          shardOf(e.orderId, this.cfg.shards),
          topic,
          e.orderId,
          e.eventId,
          e.eventType,
          JSON.stringify(headers),
          JSON.stringify(e),
          traced?.traceparent ?? null,
          traced?.tracestate ?? null,
          delay * 1000,
        ]);
      }
      if (delay > 0) this.relay.wakeAt(new Date(Date.now() + delay));
    }
    if (!rows.length) return;
    // available_at by the database's clock, as the relays of every replica compare it (see PENDING_SHARDS).
    batch.add(
      `INSERT INTO outbox (shard, topic, message_key, event_id, event_type, headers, payload, traceparent, tracestate, available_at) VALUES ${rows.map(() => STAGED_ROW).join(',')}`,
      rows.flat(),
    );
  }

  /** Call after the transaction committed: publishes now instead of at the next poll. */
  flush(): void {
    this.relay.kick();
  }
}
