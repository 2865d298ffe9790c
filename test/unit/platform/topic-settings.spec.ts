import { topicConfigEntries } from '../../../src/platform/messaging/topic-settings.js';

describe('topicConfigEntries', () => {
  const cfg = { replicationFactor: 3, dlqTopic: 'dlq-orders', dlqRetentionHours: 720 };
  const asMap = (entries: Array<{ name: string; value: string }>) => Object.fromEntries(entries.map((e) => [e.name, e.value]));

  it('asks for replication - 1 in-sync replicas, so a write survives one broker down', () => {
    expect(asMap(topicConfigEntries('orders-in', cfg))).toEqual({ 'min.insync.replicas': '2' });
  });

  it('never asks for fewer than one in-sync replica (a single broker keeps working)', () => {
    expect(asMap(topicConfigEntries('orders-in', { ...cfg, replicationFactor: 1 }))['min.insync.replicas']).toBe('1');
    expect(asMap(topicConfigEntries('orders-in', { ...cfg, replicationFactor: 2 }))['min.insync.replicas']).toBe('1');
  });

  it('keeps dead letters for the configured retention, in daily segments', () => {
    expect(asMap(topicConfigEntries('dlq-orders', cfg))).toEqual({ 'min.insync.replicas': '2', 'retention.ms': String(720 * 3_600_000), 'segment.ms': '86400000' });
  });

  it('rolls segments no later than the retention when it is under a day', () => {
    expect(asMap(topicConfigEntries('dlq-orders', { ...cfg, dlqRetentionHours: 6 }))['segment.ms']).toBe(String(6 * 3_600_000));
  });

  it('follows a renamed DLQ topic', () => {
    expect(asMap(topicConfigEntries('dead-letters', { ...cfg, dlqTopic: 'dead-letters' }))['retention.ms']).toBe(String(720 * 3_600_000));
    expect(asMap(topicConfigEntries('dlq-orders', { ...cfg, dlqTopic: 'dead-letters' }))['retention.ms']).toBeUndefined();
  });
});
