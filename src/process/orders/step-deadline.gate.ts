import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { DataSource } from 'typeorm';
import { kafkaConfig, type TopicKey } from '../../config/kafka.config.js';
import { outboxConfig } from '../../config/outbox.config.js';
import { sagaConfig } from '../../config/saga.config.js';
import { placeholders } from '../../platform/database/sql-batch.js';
import type { ConsumerGroupName } from '../../platform/messaging/consumer-groups.js';
import { KeyPartitioner } from '../../platform/messaging/key-partitioner.js';
import { MessageProcessorService } from '../../platform/messaging/message-processor.service.js';
import { shardOf } from '../../platform/messaging/outbox.service.js';
import { TopicAdminService } from '../../platform/messaging/topic-admin.service.js';
import { sagaDeadlinesDeferred } from '../../platform/observability/metrics.counters.js';
import { stepTimeoutMs, type SagaPolicy, type SagaStep } from './order-saga.js';
import { SagaStepRepository, type DueStep } from './saga-step.repository.js';

/** The system module (consumer group) each step's command goes to, and the topic its answer comes back on. */
const TARGET: Record<SagaStep, { group: ConsumerGroupName; replies: TopicKey }> = {
  inventory: { group: 'inventory', replies: 'inventoryReplies' },
  release: { group: 'inventory', replies: 'inventoryReplies' },
  payment: { group: 'payment', replies: 'paymentReplies' },
  refund: { group: 'payment', replies: 'paymentReplies' },
  shipping: { group: 'shipping', replies: 'shippingReplies' },
  cancelShipment: { group: 'shipping', replies: 'shippingReplies' },
};
const STEPS = Object.keys(TARGET) as SagaStep[];

export type Verdict = { kind: 'due' } | { kind: 'defer'; until: Date; reason: 'not-taken' | 'answer-time' | 'answer-in-pipeline' };

/** High watermark of a reply partition when a step's deadline passed: once read past it, no answer is on its way. */
interface AnswerWatch {
  topic: string;
  partition: number;
  highWatermark: bigint;
  since: number;
}

/** Where the process group stands on the reply topics: committed offsets by `topic/partition`, log ends and starts by partition. */
interface ReplyPositions {
  at: number;
  committed: Map<string, bigint>;
  ends: Map<string, bigint[]>;
  starts: Map<string, bigint[]>;
}

/** Watches of steps that were answered meanwhile are dropped after this long. */
const WATCH_TTL_MS = 10 * 60 * 1000;

/**
 * Makes step deadlines measure the other system, not our own backlog or an outage:
 * - a step's deadline starts when its system module took the command off Kafka (the target group's
 *   inbox row, by the database's clock), not when the saga staged it; a command still in our outbox, in
 *   a broker that is down, or behind a consumer group that is down or lagging costs the order no
 *   attempt. After SAGA_DELIVERY_GRACE_MS without delivery (a dead-lettered command, a module that
 *   is gone) the deadline runs all the same;
 * - once the deadline has passed, it waits while the answer may still be in our own pipeline: an
 *   outbox row of the order ready but unpublished, or a reply partition the process group has not read
 *   up to where it ended when the deadline passed (or cannot tell, with Kafka unreachable).
 * Only then is the step due: resent, or failed with STEP_TIMED_OUT.
 */
@Injectable()
export class StepDeadlineGate {
  private readonly logger = new Logger(StepDeadlineGate.name);
  private readonly partitionOf = KeyPartitioner();
  private readonly watches = new Map<string, AnswerWatch>();
  private replyLog: ReplyPositions | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly steps: SagaStepRepository,
    private readonly processor: MessageProcessorService,
    private readonly topics: TopicAdminService,
    @Inject(sagaConfig.KEY) private readonly cfg: ConfigType<typeof sagaConfig>,
    @Inject(kafkaConfig.KEY) private readonly kafka: ConfigType<typeof kafkaConfig>,
    @Inject(outboxConfig.KEY) private readonly outbox: ConfigType<typeof outboxConfig>,
  ) {}

  /** Step rows past their due time (oldest first), with when their command was taken. */
  dueSteps(limit: number): Promise<DueStep[]> {
    return this.steps.findDue(new Map(STEPS.map((s) => [s, this.processor.groupId(TARGET[s].group)])), limit);
  }

  /** What to do with each due row: hand it to the saga now, or look again later. */
  async judge(rows: DueStep[]): Promise<Verdict[]> {
    for (const [key, w] of this.watches) if (Date.now() - w.since > WATCH_TTL_MS) this.watches.delete(key);
    const verdicts = rows.map((r) => this.byDelivery(r));
    const expired = rows.filter((_, i) => verdicts[i] === null);
    if (expired.length) {
      const inOutbox = await this.ordersWithReadyOutboxRows(
        expired.map((r) => r.orderId),
        expired[0].now,
      );
      const replies = await this.replyPositions();
      rows.forEach((r, i) => {
        if (verdicts[i] !== null) return;
        const recheck = new Date(r.now.getTime() + Math.min(2000, stepTimeoutMs(r.step, r.attempt, this.policy)));
        if (inOutbox.has(r.orderId) || !this.answerRead(r, replies)) verdicts[i] = { kind: 'defer', until: recheck, reason: 'answer-in-pipeline' };
        else verdicts[i] = { kind: 'due' };
      });
    }
    for (const v of verdicts) if (v?.kind === 'defer') sagaDeadlinesDeferred.inc({ reason: v.reason });
    return verdicts as Verdict[];
  }

  /** Moves the deadlines of deferred rows. */
  defer(rows: Array<{ row: DueStep; until: Date }>): Promise<void> {
    return this.steps.defer(rows);
  }

  /** The step went to the saga (or was finished meanwhile): its watch is no longer needed. */
  forget(row: DueStep): void {
    if (row.commandEventId) this.watches.delete(row.commandEventId);
  }

  private get policy(): SagaPolicy {
    return this.cfg;
  }

  /** The verdict that needs no more than the row, or null when the deadline counted from delivery has passed. */
  private byDelivery(r: DueStep): Verdict | null {
    // A backoff after a transient rejection, or a step from before commands were tracked: due as it stands.
    if (r.state === 'RETRY' || !r.commandEventId) return { kind: 'due' };
    const timeoutMs = stepTimeoutMs(r.step, r.attempt, this.policy);
    if (!r.takenAt) {
      const waited = r.now.getTime() - r.sentAt.getTime();
      if (waited >= this.cfg.deliveryGraceMs) return null;
      // Looked at again sooner while the wait is short, less often as it grows (a long backlog or outage
      // must not turn into a stream of re-checks).
      const recheck = Math.min(30000, Math.max(Math.min(timeoutMs, 5000), waited / 2));
      return { kind: 'defer', until: new Date(r.now.getTime() + recheck), reason: 'not-taken' };
    }
    const deadline = r.takenAt.getTime() + timeoutMs;
    if (deadline > r.now.getTime()) return { kind: 'defer', until: new Date(deadline), reason: 'answer-time' };
    return null;
  }

  /** Orders among `orderIds` with an outbox row that is ready to leave (not held back by simulated latency) but has not. */
  private async ordersWithReadyOutboxRows(orderIds: string[], now: Date): Promise<Set<string>> {
    const ids = [...new Set(orderIds)];
    const shards = [...new Set(ids.map((id) => shardOf(id, this.outbox.shards)))];
    const rows: Array<{ message_key: string }> = await this.dataSource.query(
      `SELECT DISTINCT message_key FROM outbox WHERE shard IN (${placeholders(shards)}) AND message_key IN (${placeholders(ids)}) AND parked_at IS NULL AND available_at <= ?`,
      [...shards, ...ids, now],
    );
    return new Set(rows.map((r) => r.message_key));
  }

  /**
   * Whether an answer to the row's command, if one was sent before its deadline passed, has been read
   * by the process group: its committed offset on the order's reply partition has reached the partition's
   * end as it was when the deadline was first found passed. False while Kafka cannot tell.
   */
  private answerRead(r: DueStep, replies: Awaited<ReturnType<StepDeadlineGate['replyPositions']>>): boolean {
    if (!replies) return false;
    const topic = this.kafka.topics[TARGET[r.step].replies];
    const ends = replies.ends.get(topic);
    if (!ends?.length) return false;
    const key = r.commandEventId ?? `${r.orderId}/${r.step}`;
    const watch = this.watches.get(key);
    if (!watch) {
      const partition = this.partitionOf({
        topic,
        partitionMetadata: ends.map((_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0, offlineReplicas: [] })),
        message: { key: r.orderId, value: null },
      });
      this.watches.set(key, { topic, partition, highWatermark: ends[partition], since: Date.now() });
      // Looked at again with a fresh reading: an answer sent just before the deadline may not be in this one.
      return false;
    }
    // A group that never committed on the partition reads it from its start (the groups read from the beginning).
    const committed = replies.committed.get(`${watch.topic}/${watch.partition}`) ?? -1n;
    return (committed >= 0n ? committed : replies.starts.get(watch.topic)![watch.partition]) >= watch.highWatermark;
  }

  /**
   * The process group's committed offsets and the ends of the reply partitions, read at most every
   * second (one admin round trip per topic); null when Kafka does not answer.
   */
  private async replyPositions(): Promise<ReplyPositions | null> {
    if (this.replyLog && Date.now() - this.replyLog.at < 1000) return this.replyLog;
    const topics = [...new Set(STEPS.map((s) => this.kafka.topics[TARGET[s].replies]))];
    try {
      const log = await this.topics.withAdmin(async (admin) => {
        const ends = new Map<string, bigint[]>();
        const starts = new Map<string, bigint[]>();
        for (const topic of topics) {
          const offsets = await admin.fetchTopicOffsets(topic);
          const [high, low]: bigint[][] = [[], []];
          for (const p of offsets) [high[p.partition], low[p.partition]] = [BigInt(p.high), BigInt(p.low)];
          ends.set(topic, high);
          starts.set(topic, low);
        }
        const committed = new Map<string, bigint>();
        for (const t of await admin.fetchOffsets({ groupId: this.processor.groupId('process'), topics })) {
          for (const p of t.partitions) committed.set(`${t.topic}/${p.partition}`, BigInt(p.offset));
        }
        return { at: Date.now(), committed, ends, starts };
      });
      this.replyLog = log;
      return log;
    } catch (err) {
      this.logger.warn(`cannot tell whether answers are still on their way (${(err as Error).message}); deadlines wait`);
      this.replyLog = null;
      return null;
    }
  }
}
