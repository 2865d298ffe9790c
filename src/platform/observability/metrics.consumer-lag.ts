import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Admin, Kafka } from 'kafkajs';
import { ConsumerRegistryService } from '../messaging/consumer-registry.service.js';
import { KAFKA } from '../messaging/messaging.tokens.js';
import { withTimeout } from './metrics.timeout.js';

export interface ConsumerLag {
  group: string;
  topic: string;
  partition: number;
  lag: number;
}

/** What kafkajs `admin.fetchOffsets` returns: the group's committed offset per partition (-1: none). */
export type CommittedOffsets = Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>;
/** What kafkajs `admin.fetchTopicOffsets` returns, per topic: the log's low and high watermarks. */
export type TopicEnds = Map<string, Array<{ partition: number; high: string; low: string }>>;

/**
 * Messages a group still has to read on each partition: high watermark minus committed offset.
 * A partition without a committed offset counts its whole retained log (the groups read from the
 * beginning); a partition whose end is unknown (topic deleted, metadata missing) is left out.
 */
export function computeConsumerLag(group: string, committed: CommittedOffsets, ends: TopicEnds): ConsumerLag[] {
  const lag: ConsumerLag[] = [];
  for (const { topic, partitions } of committed) {
    const byPartition = new Map((ends.get(topic) ?? []).map((p) => [p.partition, p]));
    for (const { partition, offset } of partitions) {
      const end = byPartition.get(partition);
      if (!end) continue;
      const high = Number(end.high);
      const from = Number(offset) >= 0 ? Number(offset) : Number(end.low);
      lag.push({ group, topic, partition, lag: Math.max(0, high - from) });
    }
  }
  return lag;
}

/** How long a lag reading is reused: scrapes (and several Prometheus servers) stay cheap for Kafka. */
export const LAG_CACHE_MS = 5000;

/**
 * Consumer lag of the groups this process runs (ConsumerRegistryService), read with the admin API
 * at most every LAG_CACHE_MS. A slow broker never holds a scrape longer than the caller's timeout:
 * the reading goes on in the background and the next scrape gets it.
 */
@Injectable()
export class ConsumerLagService implements OnModuleDestroy {
  private admin: Admin | null = null;
  private reading: { at: number; lag: ConsumerLag[] } | null = null;
  private inFlight: Promise<void> | null = null;

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    private readonly consumers: ConsumerRegistryService,
  ) {}

  /** The latest reading, refreshed first (within `timeoutMs`) when older than LAG_CACHE_MS. */
  async current(timeoutMs: number, now = Date.now()): Promise<ConsumerLag[]> {
    if (!this.reading || now - this.reading.at >= LAG_CACHE_MS) {
      this.inFlight ??= this.refresh().finally(() => (this.inFlight = null));
      await withTimeout(this.inFlight, timeoutMs, 'consumer lag');
    }
    return this.reading?.lag ?? [];
  }

  async onModuleDestroy(): Promise<void> {
    await this.inFlight?.catch(() => undefined);
    await this.resetAdmin();
  }

  private async refresh(): Promise<void> {
    const groups = Object.keys(this.consumers.snapshot());
    try {
      const lag = groups.length ? await this.read(groups) : [];
      this.reading = { at: Date.now(), lag };
    } catch (err) {
      // Remember the failure too, so a broker that is down is asked once per LAG_CACHE_MS at most.
      this.reading = { at: Date.now(), lag: [] };
      await this.resetAdmin();
      throw err;
    }
  }

  private async read(groups: string[]): Promise<ConsumerLag[]> {
    const admin = await this.connectedAdmin();
    // No topic list: the coordinator answers with every topic the group has committed on.
    const committed = await Promise.all(groups.map(async (groupId) => ({ groupId, offsets: (await admin.fetchOffsets({ groupId })) as CommittedOffsets })));
    const topics = [...new Set(committed.flatMap((c) => c.offsets.map((o) => o.topic)))];
    const ends: TopicEnds = new Map(await Promise.all(topics.map(async (topic) => [topic, await admin.fetchTopicOffsets(topic)] as const)));
    return committed.flatMap(({ groupId, offsets }) => computeConsumerLag(groupId, offsets, ends));
  }

  private async connectedAdmin(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    return this.admin;
  }

  private async resetAdmin(): Promise<void> {
    const admin = this.admin;
    this.admin = null;
    await admin?.disconnect().catch(() => undefined);
  }
}
