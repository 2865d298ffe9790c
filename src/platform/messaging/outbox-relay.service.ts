import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { IHeaders, TopicMessages } from 'kafkajs';
import { DataSource, type EntityManager } from 'typeorm';
import { keyTable, leanTransaction, placeholders, SqlBatch } from '../database/sql-batch.js';
import { outboxConfig } from '../../config/outbox.config.js';
import { HEADER_CORRELATION_ID } from '../../contracts/envelope.js';
import { correlation } from '../observability/correlation.js';
import { groupByTopic, KafkaProducerService } from './kafka-producer.service.js';

interface OutboxRow {
  id: string;
  shard: number;
  topic: string;
  message_key: string;
  headers: string;
  payload: string;
}

/**
 * Publishes committed outbox rows to Kafka and deletes them.
 *
 * Ownership is per shard: a pass locks the lock rows of the shards that have work with
 * `FOR UPDATE SKIP LOCKED`, so several relays (replicas) share the work without two of them ever
 * publishing the same order's messages concurrently, and each order's messages leave in commit order.
 * A pass runs right after a local commit (`kick`) and on a poll for work committed elsewhere.
 * Up to `relayConcurrency` passes run at once, each on its own shards (at most shards/concurrency
 * of them), so the waits of one pass (database, Kafka acks) overlap with the work of the others.
 * With more than one, each order's messages still leave in commit order (one shard, one pass), but
 * two orders in different shards may swap places in a Kafka partition; the default is one.
 * When Kafka is down the transaction rolls back and the rows wait, with exponential backoff.
 * A message the broker refuses for what it is (too large, invalid) would otherwise be retried forever
 * in front of everything else: it is parked (left in the table with the broker's answer, skipped by
 * the relay, counted by the `outbox_parked_messages` gauge) and the rest goes on.
 */
@Injectable()
export class OutboxRelayService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OutboxRelayService.name);
  /** Passes loops in progress (at most relayConcurrency). */
  private active = 0;
  private readonly loops = new Set<Promise<void>>();
  /** Shards a pass of this process is working on: the other passes leave them alone. */
  private readonly busyShards = new Set<number>();
  private again = false;
  /** The last pass found rows to publish (a lone relay then skips its look for pending shards). */
  private lastPassMoved = false;
  private stopped = false;
  private pollTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private backoffUntil = 0;
  private published = 0;
  private readonly wakeTimers = new Map<number, NodeJS.Timeout>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly producer: KafkaProducerService,
    @Inject(outboxConfig.KEY) private readonly cfg: ConfigType<typeof outboxConfig>,
  ) {}

  onApplicationBootstrap(): void {
    this.schedulePoll(0);
  }

  /** Asks for a pass as soon as possible; coalesces with the passes already running once they are at the limit. */
  kick(): void {
    if (this.stopped) return;
    if (this.active >= this.cfg.relayConcurrency) {
      this.again = true;
      return;
    }
    if (Date.now() < this.backoffUntil) return;
    this.active += 1;
    const loop = this.loop();
    this.loops.add(loop);
    void loop.finally(() => this.loops.delete(loop));
  }

  /**
   * Asks for a pass when a delayed message becomes due. Timers share 50 ms buckets: one pass for
   * everything due in a bucket rather than a pass (and its round trips) per few messages, at the
   * price of up to 50 ms on a delay.
   */
  wakeAt(at: Date): void {
    if (this.stopped) return;
    const bucket = Math.ceil(at.getTime() / WAKE_BUCKET_MS) * WAKE_BUCKET_MS;
    if (this.wakeTimers.has(bucket)) return;
    const timer = setTimeout(
      () => {
        this.wakeTimers.delete(bucket);
        this.kick();
      },
      Math.max(0, bucket - Date.now()) + 2,
    );
    timer.unref();
    this.wakeTimers.set(bucket, timer);
  }

  /** Number of messages this process has published (for tests and metrics). */
  get publishedCount(): number {
    return this.published;
  }

  /** Messages waiting to be published (parked ones excluded). */
  async backlog(): Promise<number> {
    const [row] = await this.dataSource.query('SELECT COUNT(*) AS n FROM outbox WHERE parked_at IS NULL');
    return Number(row.n);
  }

  /** Messages set aside because the broker refused them, waiting for an operator. */
  async parkedCount(): Promise<number> {
    const [row] = await this.dataSource.query('SELECT COUNT(*) AS n FROM outbox WHERE parked_at IS NOT NULL');
    return Number(row.n);
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.again = false;
        try {
          const moved = await this.pass();
          this.lastPassMoved = moved > 0;
          if (moved === ALL_BUSY) break; // the passes holding those shards take the work (and `again`)
          this.failures = 0;
          this.backoffUntil = 0;
        } catch (err) {
          this.failures += 1;
          const delay = Math.min(this.cfg.retryBackoffMaxMs, 200 * 2 ** Math.min(this.failures, 10));
          this.backoffUntil = Date.now() + delay;
          const log = this.failures === 1 ? 'warn' : 'debug';
          this.logger[log](`outbox publish failed (attempt ${this.failures}), retrying in ${delay} ms: ${(err as Error).message}`);
          this.schedulePoll(delay);
          return;
        }
      } while (this.again && !this.stopped);
    } finally {
      // In the same synchronous step as the last `again` check: a kick can never fall in between.
      this.active -= 1;
    }
  }

  /** One claim-publish-delete transaction; returns how many messages it published (or parked). */
  private async pass(): Promise<number> {
    // Which shards have due rows: read outside a transaction, so an idle relay opens none. While the
    // passes of a lone relay loop keep finding rows, it skips the look and tries every shard.
    const now = new Date();
    const pending: Array<{ shard: number }> =
      this.lastPassMoved && this.cfg.relayConcurrency === 1
        ? Array.from({ length: this.cfg.shards }, (_, shard) => ({ shard }))
        : await this.dataSource.query('SELECT DISTINCT shard FROM outbox WHERE available_at <= ? AND parked_at IS NULL ORDER BY shard', [now]);
    const perPass = Math.max(1, Math.ceil(this.cfg.shards / this.cfg.relayConcurrency));
    const free = pending.map((p) => p.shard).filter((shard) => !this.busyShards.has(shard));
    // Rows in shards another pass holds may have come after that pass read its rows: it goes again.
    if (free.length < pending.length) this.again = true;
    if (!pending.length) return 0;
    if (!free.length) return ALL_BUSY;
    const mine = free.slice(0, perPass);
    mine.forEach((shard) => this.busyShards.add(shard));
    try {
      // Two database round trips a pass. The first opens the transaction, locks the shards and reads
      // their rows. The rows are read for every shard asked for, and those of a shard another relay
      // holds are left out here: the read runs after the lock in the same round trip, so every pass
      // that held a shard before this one has committed its deletes by the time they are read. The
      // second deletes what was sent and commits.
      return await leanTransaction(this.dataSource, async (tx) => {
        const open = new SqlBatch();
        const lockAt = open.add(`SELECT shard FROM outbox_shards WHERE shard IN (${placeholders(mine)}) FOR UPDATE SKIP LOCKED`, mine);
        const readAt = open.add(
          `SELECT id, shard, topic, message_key, headers, payload FROM outbox WHERE shard IN (${placeholders(mine)}) AND available_at <= ? AND parked_at IS NULL ORDER BY id LIMIT ?`,
          [...mine, now, this.cfg.batchSize],
        );
        const results = await tx.run(open);
        const claimed = new Set((results[lockAt] as Array<{ shard: number }>).map((c) => Number(c.shard)));
        const read = results[readAt] as OutboxRow[];
        const rows = read.filter((r) => claimed.has(Number(r.shard)));
        // A full read means more may be waiting (even when some of it belonged to another relay): go
        // again without waiting for the poll.
        if (read.length >= this.cfg.batchSize) this.again = true;
        if (!rows.length) return 0;
        const sent = await this.publish(tx.manager, rows);
        const close = new SqlBatch();
        if (sent.length) close.add(DELETE_SENT, [JSON.stringify(sent.map((r) => r.id))]);
        await tx.run(close, { commit: true });
        this.published += sent.length;
        return rows.length; // sent or parked
      });
    } finally {
      mine.forEach((shard) => this.busyShards.delete(shard));
    }
  }

  /**
   * Sends the rows as one batch and returns them. When the broker refuses the batch for what one of
   * its messages is, sends them one at a time to find which, parks those and returns the others.
   * Any other failure throws (the pass rolls back; what already left is sent again, and the inboxes
   * of the consumers drop the duplicates).
   */
  private async publish(tx: EntityManager, rows: OutboxRow[]): Promise<OutboxRow[]> {
    try {
      await this.producer.sendBatch(toTopicMessages(rows));
      return rows;
    } catch (err) {
      if (!refusedMessage(err)) throw err;
    }
    const sent: OutboxRow[] = [];
    for (const row of rows) {
      try {
        await this.producer.sendBatch(toTopicMessages([row]));
        sent.push(row);
      } catch (err) {
        const refusal = refusedMessage(err);
        if (!refusal) throw err;
        await tx.query('UPDATE outbox SET parked_at = NOW(3), last_error = ? WHERE id = ?', [refusal.slice(0, 1000), row.id]);
        const correlationId = String((JSON.parse(row.headers) as Record<string, unknown>)[HEADER_CORRELATION_ID] ?? '');
        correlation.run({ correlationId, orderId: row.message_key }, () => this.logger.error(`outbox message ${row.id} to ${row.topic} parked, the broker refused it: ${refusal}`));
      }
    }
    return sent;
  }

  private schedulePoll(delay: number): void {
    if (this.stopped) return;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => {
      this.pollTimer = null;
      this.backoffUntil = 0;
      this.kick();
      this.schedulePoll(this.cfg.pollIntervalMs);
    }, delay);
    this.pollTimer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.wakeTimers.forEach((t) => clearTimeout(t));
    this.wakeTimers.clear();
    // Let the passes in progress finish so a published batch is also deleted.
    await Promise.all([...this.loops].map((loop) => loop.catch(() => undefined)));
  }

  /** For the readiness body: publishing, waiting out failed passes, or stopped by shutdown. Reads only. */
  health(): RelayHealth {
    const { lastSentAt, lastError } = this.producer.lastOutcomes();
    return {
      state: this.stopped ? 'stopped' : this.failures > 0 ? 'backing-off' : 'running',
      failedPasses: this.failures,
      lastPublishedAt: lastSentAt?.toISOString() ?? null,
      lastError: lastError && { message: lastError.message, at: lastError.at.toISOString() },
    };
  }
}

const WAKE_BUCKET_MS = 50;

/**
 * Deletes the published rows by primary key, one lookup per id: the ids come as a JSON array
 * joined to the table. `WHERE id IN (…)` with hundreds of ids lets the optimizer pick a full scan
 * when the table is small (it is, when the relay keeps up), and a locking scan under REPEATABLE
 * READ waits on every uncommitted insert and gap-locks the whole table, so every transaction that
 * stages a message (an order's POST included) queued behind the relay.
 */
export const DELETE_SENT = `DELETE o FROM ${keyTable('sent', 'BIGINT')} STRAIGHT_JOIN outbox o ON o.id = sent.id`;

/** What a pass returns when every shard with work is held by another pass of this process. */
const ALL_BUSY = -1;

/**
 * Broker answers about a message itself rather than about the broker's state: sending it again can
 * only fail again. (Authorization failures are not among them: they concern every message alike and
 * are fixed by configuration, so those rows wait and are retried.)
 */
const MESSAGE_REFUSALS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'INVALID_TOPIC_EXCEPTION']);

/** The broker's refusal of a message (`TYPE: message`) found in a KafkaJS error or its causes, else null. */
export function refusedMessage(err: unknown, depth = 0): string | null {
  if (!err || typeof err !== 'object' || depth > 5) return null;
  const e = err as { type?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.type === 'string' && MESSAGE_REFUSALS.has(e.type)) return `${e.type}: ${String(e.message)}`;
  for (const inner of [e.cause, ...(Array.isArray(e.errors) ? e.errors : [])]) {
    const refusal = refusedMessage(inner, depth + 1);
    if (refusal) return refusal;
  }
  return null;
}

/** The rows as one batch per topic, in commit order (see groupByTopic). */
export function toTopicMessages(rows: Array<Pick<OutboxRow, 'topic' | 'message_key' | 'headers' | 'payload'>>): TopicMessages[] {
  return groupByTopic(rows.map((row) => ({ topic: row.topic, message: { key: row.message_key, value: row.payload, headers: JSON.parse(row.headers) as IHeaders } })));
}

export interface RelayHealth {
  state: 'running' | 'backing-off' | 'stopped';
  /** Passes failed in a row (database or broker), 0 when the last one went through. */
  failedPasses: number;
  /** When the process last sent a batch to Kafka. */
  lastPublishedAt: string | null;
  /** The last send Kafka refused or did not answer, with when. */
  lastError: { message: string; at: string } | null;
}
