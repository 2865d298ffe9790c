import type { Admin } from 'kafkajs';
import type { ConsumerRegistryService } from '../../../src/platform/messaging/consumer-registry.service.js';
import type { TopicAdminService } from '../../../src/platform/messaging/topic-admin.service.js';
import { computeConsumerLag, ConsumerLagService, LAG_CACHE_MS, type TopicEnds } from '../../../src/platform/observability/metrics.consumer-lag.js';

/** A double that fails on any member it does not define (STYLE #8). */
function strict<T extends object>(name: string, impl: Partial<T>): T {
  return new Proxy(impl, {
    get(target, prop, receiver) {
      if (prop in target) return Reflect.get(target, prop, receiver);
      if (typeof prop === 'symbol' || prop === 'then') return undefined;
      throw new Error(`unexpected use of ${name}.${String(prop)}`);
    },
  }) as T;
}

describe('computeConsumerLag', () => {
  const ends: TopicEnds = new Map([
    [
      'orders-in',
      [
        { partition: 0, low: '0', high: '120' },
        { partition: 1, low: '40', high: '90' },
        { partition: 2, low: '0', high: '7' },
      ],
    ],
  ]);

  it('is the high watermark minus the committed offset, per partition', () => {
    const lag = computeConsumerLag(
      'order-flow-process',
      [
        {
          topic: 'orders-in',
          partitions: [
            { partition: 0, offset: '100' },
            { partition: 2, offset: '7' },
          ],
        },
      ],
      ends,
    );
    expect(lag).toEqual([
      { group: 'order-flow-process', topic: 'orders-in', partition: 0, lag: 20 },
      { group: 'order-flow-process', topic: 'orders-in', partition: 2, lag: 0 },
    ]);
  });

  it('counts the whole retained log of a partition without a committed offset', () => {
    const lag = computeConsumerLag('g', [{ topic: 'orders-in', partitions: [{ partition: 1, offset: '-1' }] }], ends);
    expect(lag).toEqual([{ group: 'g', topic: 'orders-in', partition: 1, lag: 50 }]);
  });

  it('never goes negative (a commit read after a newer high watermark) and skips partitions or topics with unknown ends', () => {
    const lag = computeConsumerLag(
      'g',
      [
        {
          topic: 'orders-in',
          partitions: [
            { partition: 2, offset: '9' },
            { partition: 5, offset: '1' },
          ],
        },
        { topic: 'deleted-topic', partitions: [{ partition: 0, offset: '3' }] },
      ],
      ends,
    );
    expect(lag).toEqual([{ group: 'g', topic: 'orders-in', partition: 2, lag: 0 }]);
  });
});

describe('ConsumerLagService', () => {
  function setUp(groups: string[], admin: Partial<Admin>) {
    const calls = { admins: 0 };
    const topics = strict<TopicAdminService>('topics', {
      withAdmin: async <T>(work: (a: Admin) => Promise<T>): Promise<T> => {
        calls.admins++;
        return work(strict<Admin>('admin', admin));
      },
    });
    const health = { state: 'connected', since: new Date(0).toISOString(), lastError: null, restarts: 0 } as const;
    const registry = strict<ConsumerRegistryService>('registry', { snapshot: () => Object.fromEntries(groups.map((g) => [g, health])) });
    return { service: new ConsumerLagService(topics, registry), calls };
  }

  it('asks Kafka nothing when this process runs no consumer group', async () => {
    const { service, calls } = setUp([], {});
    await expect(service.current(100)).resolves.toEqual([]);
    expect(calls.admins).toBe(0);
  });

  it('reads every group, then reuses the reading for LAG_CACHE_MS', async () => {
    let fetches = 0;
    const { service } = setUp(['order-flow-process', 'order-flow-payment'], {
      fetchOffsets: (async ({ groupId }: { groupId: string }) => {
        fetches++;
        return [{ topic: groupId === 'order-flow-process' ? 'orders-in' : 'payment-requests', partitions: [{ partition: 0, offset: '3', metadata: null }] }];
      }) as unknown as Admin['fetchOffsets'],
      fetchTopicOffsets: (async () => [{ partition: 0, offset: '10', high: '10', low: '0' }]) as Admin['fetchTopicOffsets'],
    });
    const t0 = Date.now();
    const first = await service.current(1000, t0);
    expect(first).toEqual([
      { group: 'order-flow-process', topic: 'orders-in', partition: 0, lag: 7 },
      { group: 'order-flow-payment', topic: 'payment-requests', partition: 0, lag: 7 },
    ]);
    expect(await service.current(1000, t0 + 1000)).toBe(first);
    expect(fetches).toBe(2);
    await service.current(1000, Date.now() + LAG_CACHE_MS);
    expect(fetches).toBe(4);
    await service.onModuleDestroy();
  });

  it('gives up waiting after the timeout without failing later scrapes, and remembers a failure for LAG_CACHE_MS', async () => {
    let release!: () => void;
    const { service, calls } = setUp(['g'], {
      fetchOffsets: (() => new Promise((_, reject) => (release = () => reject(new Error('broker gone'))))) as unknown as Admin['fetchOffsets'],
    });
    await expect(service.current(20)).rejects.toThrow('consumer lag: no answer within 20 ms');
    release();
    await new Promise((r) => setImmediate(r));
    // The failed reading is cached: no new admin use, no new request until it expires.
    await expect(service.current(20)).resolves.toEqual([]);
    expect(calls.admins).toBe(1);
  });
});
