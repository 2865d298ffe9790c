import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { IHeaders, TopicMessages } from 'kafkajs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { DataSource } from 'typeorm';
import { outboxConfig } from '../../config/outbox.config.js';
import { HEADER_CORRELATION_ID } from '../../contracts/envelope.js';
import { correlation } from '../observability/correlation.js';
import { outboxPublishDuration, outboxPublishFailures } from '../observability/metrics.counters.js';
import { startPublishSpans, storedTraceHeaders, untraced } from '../observability/tracing.js';
import { groupByTopic, KafkaProducerService } from './kafka-producer.service.js';
import { OutboxRepository, type OutboxRow } from './outbox.repository.js';

/**
 * The shards one pass loop holds, under one lease token: claimed by its first pass, renewed by each
 * pass's closing transaction while the loop goes on, given back by its last.
 */
interface LoopLease {
  token: string;
  held: Set<number>;
}

/** What a pass did with the rows it read: published, or parked with the broker's refusal. */
interface Outcome {
  sent: OutboxRow[];
  parked: Array<{ row: OutboxRow; refusal: string }>;
}

/**
 * Publishes committed outbox rows to Kafka and deletes them.
 *
 * Ownership is per shard, by lease: a pass claims the shards that have work and no live lease
 * (`outbox_shards.lease_owner`, `lease_until` by the database's clock) and reads their rows in one
 * round trip, publishes them outside any transaction, then deletes what it published in one short
 * transaction, all guarded by still holding the lease. That transaction renews the leases while the
 * pass's loop goes on (its next passes claim nothing: no commit to wait for before their send) and
 * gives them back with the loop's last pass. No database lock is held while Kafka is waited for; a
 * send is abandoned after `publishTimeoutMs`. A lease lasts that plus half a poll interval from its
 * claim or last renewal, so a replica that hangs or is cut off mid-pass holds its shards for at most
 * that long, and the others' next poll takes them: within two poll intervals plus the timeout.
 * Each order's messages leave in commit order (docs/adr/0002-outbox-shard-leases.md says why this
 * holds even when a lease is lost mid-send: the worst is a duplicate of what already left).
 *
 * A pass runs right after a local commit (`kick`) and on a poll for work committed elsewhere.
 * Up to `relayConcurrency` passes run at once, each on its own shards (at most shards/concurrency
 * of them), so the waits of one pass (database, Kafka acks) overlap with the work of the others.
 * With more than one, each order's messages still leave in commit order (one shard, one pass), but
 * two orders in different shards may swap places in a Kafka partition; the default is one.
 * When Kafka is down the rows stay and the relay retries with exponential backoff.
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
  /** This relay in lease tokens (`<instance>#<loop>`): host, pid and a random part, at most 50 characters. */
  private readonly instance = `${hostname().slice(0, 30)}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private loopCount = 0;

  private readonly outbox: OutboxRepository;

  constructor(
    dataSource: DataSource,
    private readonly producer: KafkaProducerService,
    @Inject(outboxConfig.KEY) private readonly cfg: ConfigType<typeof outboxConfig>,
  ) {
    this.outbox = new OutboxRepository(dataSource);
  }

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
    // The relay's round trips serve many orders: no trace of the request or message that kicked it.
    const loop = untraced(() => this.loop());
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
  backlog(): Promise<number> {
    return this.outbox.backlog();
  }

  /** Seconds the oldest message that is due has waited to be published (0 when none): how far behind the relay is. */
  oldestDueAgeSeconds(): Promise<number> {
    return this.outbox.oldestDueAgeSeconds();
  }

  /** Messages set aside because the broker refused them, waiting for an operator. */
  parkedCount(): Promise<number> {
    return this.outbox.parkedCount();
  }

  /** How long a lease lasts from its claim or renewal: the publish timeout plus half a poll interval (see the class). */
  get leaseMs(): number {
    return leaseMsOf(this.cfg);
  }

  private async loop(): Promise<void> {
    const lease: LoopLease = { token: `${this.instance}#${++this.loopCount}`, held: new Set() };
    try {
      for (;;) {
        this.again = false;
        let moved: number;
        try {
          moved = await this.pass(lease);
          this.lastPassMoved = moved > 0;
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
        // ALL_BUSY: the passes holding those shards take the work (and `again`).
        const more = () => moved !== ALL_BUSY && this.again && !this.stopped;
        if (more()) continue;
        // The last pass keeps its leases only when more work was asked for as it closed; if that
        // work went to another loop meanwhile (or the relay stops), they are given back here.
        if (lease.held.size) {
          await this.giveBack(lease).catch((e: Error) => this.logger.debug(`lease release: ${e.message}`));
          if (more()) continue;
        }
        break;
      }
    } finally {
      // In the same synchronous step as the last `again` check: a kick can never fall in between.
      this.active -= 1;
    }
  }

  /** One read, publish, delete pass; returns how many messages it published (or parked). */
  private async pass(lease: LoopLease): Promise<number> {
    // Which shards have due rows: read with no lease taken, so an idle relay writes nothing. While the
    // passes of a lone relay loop keep finding rows, it skips the look and tries every shard.
    const withWork = this.lastPassMoved && this.cfg.relayConcurrency === 1 ? Array.from({ length: this.cfg.shards }, (_, shard) => shard) : await this.outbox.pendingShards();
    const perPass = Math.max(1, Math.ceil(this.cfg.shards / this.cfg.relayConcurrency));
    if (!withWork.length) return 0;
    const free = withWork.filter((shard) => !this.busyShards.has(shard));
    const ours = withWork.filter((shard) => lease.held.has(shard));
    // Rows in shards another pass holds may have come after that pass read its rows: it goes again.
    if (free.length + ours.length < withWork.length) this.again = true;
    if (!free.length && !ours.length) return ALL_BUSY;
    // The shards this loop holds are read with the others: no other pass of this relay reads them.
    const mine = [...lease.held, ...free.slice(0, Math.max(0, perPass - lease.held.size))].sort((a, b) => a - b);
    mine.forEach((shard) => this.busyShards.add(shard));
    try {
      return await this.publishShards(mine, lease);
    } finally {
      mine.filter((shard) => !lease.held.has(shard)).forEach((shard) => this.busyShards.delete(shard));
    }
  }

  /**
   * Two database round trips, none of them inside an open transaction while Kafka is waited for.
   * The first claims what it can of `shards` that the loop does not hold yet (the rest is leased to
   * another pass) and reads the due rows of the shards the loop holds, in id order, only then
   * limited: rows of shards held elsewhere never take the places of this pass's own. The second
   * deletes what was published and renews the leases for the loop's next pass, or gives them back.
   * While a loop keeps going its passes claim nothing new: no write, and so no commit to wait for,
   * before the send.
   */
  private async publishShards(shards: number[], lease: LoopLease): Promise<number> {
    const toClaim = shards.filter((shard) => !lease.held.has(shard));
    const opened = this.outbox.openPass({ shards, toClaim, token: lease.token, leaseMs: this.leaseMs, limit: this.cfg.batchSize });
    toClaim.forEach((shard) => lease.held.add(shard)); // until the claim is known, a failure gives back all it may have taken
    try {
      const { held, rows } = await opened;
      // Shards of the loop that another pass took once their lease ran out (this loop was stalled).
      for (const shard of shards) if (!held.has(shard)) lease.held.delete(shard);
      // A full read means more may be waiting: go again without waiting for the poll.
      if (rows.length >= this.cfg.batchSize) this.again = true;
      if (!lease.held.size) return 0;
      // A monotonic deadline: a step of the wall clock neither stretches nor cuts the time Kafka gets.
      const outcome = rows.length ? await this.publish(rows, performance.now() + this.cfg.publishTimeoutMs) : { sent: [], parked: [] };
      await this.close(lease, outcome, this.again && !this.stopped);
      this.published += outcome.sent.length;
      return outcome.sent.length + outcome.parked.length;
    } catch (err) {
      // Give the leases back at once rather than at their end (another replica may reach Kafka).
      await this.giveBack(lease).catch((e: Error) => this.logger.debug(`lease release: ${e.message}`));
      throw err;
    }
  }

  /**
   * Sends the rows as one batch and returns them. When the broker refuses the batch for what one of
   * its messages is, sends them one at a time to find which, to be parked, until the pass's deadline
   * (the rest waits for the next pass). Any other failure, or the deadline passing during a send,
   * throws: the rows stay, and what already left is sent again (the consumers' inboxes drop the
   * duplicates).
   */
  private async publish(rows: OutboxRow[], deadline: number): Promise<Outcome> {
    const send = async (batch: OutboxRow[]) => {
      const topicMessages = toTopicMessages(batch);
      // A span per traced message, continuing the trace its row stored (null when tracing is off).
      const sent = startPublishSpans(topicMessages);
      try {
        await timedSend(() => this.producer.sendBatch(topicMessages, { timeoutMs: Math.max(1, Math.ceil(deadline - performance.now())) }));
      } catch (err) {
        sent?.(err);
        throw err;
      }
      sent?.();
    };
    try {
      await send(rows);
      return { sent: rows, parked: [] };
    } catch (err) {
      if (!refusedMessage(err)) throw err;
    }
    const outcome: Outcome = { sent: [], parked: [] };
    for (const row of rows) {
      if (performance.now() >= deadline) {
        this.again = true;
        break;
      }
      try {
        await send([row]);
        outcome.sent.push(row);
      } catch (err) {
        const refusal = refusedMessage(err);
        if (!refusal) throw err;
        outcome.parked.push({ row, refusal: refusal.slice(0, 1000) });
        const correlationId = String((JSON.parse(row.headers) as Record<string, unknown>)[HEADER_CORRELATION_ID] ?? '');
        correlation.run({ correlationId, orderId: row.message_key }, () => this.logger.error(`outbox message ${row.id} to ${row.topic} parked, the broker refused it: ${refusal}`));
      }
    }
    return outcome;
  }

  /**
   * Deletes the published rows and parks the refused ones in one round trip, only where this loop
   * still holds the lease: if it ran out and another pass took the shard, that pass publishes those
   * rows again. The same round trip renews the leases for the loop's next pass (`keep`) or gives them back.
   */
  private async close(lease: LoopLease, { sent, parked }: Outcome, keep: boolean): Promise<void> {
    const held = [...lease.held].sort((a, b) => a - b);
    await this.outbox.closePass({ held, token: lease.token, leaseMs: keep ? this.leaseMs : null, sent, parked });
    if (!keep) this.forget(lease);
  }

  /** Gives back every shard the loop holds (those another pass took meanwhile stay with it). */
  private async giveBack(lease: LoopLease): Promise<void> {
    const held = [...lease.held].sort((a, b) => a - b);
    this.forget(lease);
    if (held.length) await this.outbox.release(held, lease.token);
  }

  private forget(lease: LoopLease): void {
    lease.held.forEach((shard) => this.busyShards.delete(shard));
    lease.held.clear();
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

/** How long a pass leases its shards: the publish timeout plus half a poll interval. */
export function leaseMsOf(cfg: Pick<ConfigType<typeof outboxConfig>, 'publishTimeoutMs' | 'pollIntervalMs'>): number {
  return cfg.publishTimeoutMs + Math.ceil(cfg.pollIntervalMs / 2);
}

/** One Kafka send of the relay, timed, and counted by reason when it fails. */
async function timedSend(send: () => Promise<unknown>): Promise<void> {
  const done = outboxPublishDuration.startTimer();
  try {
    await send();
  } catch (err) {
    outboxPublishFailures.inc({ reason: refusedMessage(err) ? 'refused' : 'transient' });
    throw err;
  } finally {
    done();
  }
}

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

/** The rows as one batch per topic, in commit order (see groupByTopic), each with its stored trace context as W3C headers. */
export function toTopicMessages(
  rows: Array<Pick<OutboxRow, 'topic' | 'message_key' | 'headers' | 'payload'> & Partial<Pick<OutboxRow, 'traceparent' | 'tracestate'>>>,
): TopicMessages[] {
  return groupByTopic(
    rows.map((row) => {
      const headers = JSON.parse(row.headers) as IHeaders;
      if (row.traceparent) Object.assign(headers, storedTraceHeaders({ traceparent: row.traceparent, tracestate: row.tracestate ?? null }));
      return { topic: row.topic, message: { key: row.message_key, value: row.payload, headers } };
    }),
  );
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
