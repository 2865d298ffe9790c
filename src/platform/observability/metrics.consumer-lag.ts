import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { ConsumerRegistryService } from '../messaging/consumer-registry.service.js';
import { TopicAdminService } from '../messaging/topic-admin.service.js';
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
  private reading: { at: number; lag: ConsumerLag[] } | null = null;
  private inFlight: Promise<void> | null = null;

  constructor(
    private readonly topics: TopicAdminService,
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
  }

  private async refresh(): Promise<void> {
    const groups = Object.keys(this.consumers.snapshot());
    try {
      const lag = groups.length ? await this.read(groups) : [];
      this.reading = { at: Date.now(), lag };
    } catch (err) {
      // Remember the failure too, so a broker that is down is asked once per LAG_CACHE_MS at most.
      this.reading = { at: Date.now(), lag: [] };
      throw err;
    }
  }

  private read(groups: string[]): Promise<ConsumerLag[]> {
    return this.topics.withAdmin(async (admin) => {
      // No topic list: the coordinator answers with every topic the group has committed on.
      const committed = await Promise.all(groups.map(async (groupId) => ({ groupId, offsets: (await admin.fetchOffsets({ groupId })) as CommittedOffsets })));
      const topics = [...new Set(committed.flatMap((c) => c.offsets.map((o) => o.topic)))];
      const ends: TopicEnds = new Map(await Promise.all(topics.map(async (topic) => [topic, await admin.fetchTopicOffsets(topic)] as const)));
      return committed.flatMap(({ groupId, offsets }) => computeConsumerLag(groupId, offsets, ends));
    });
  }
}
