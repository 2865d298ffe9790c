/** What the topic settings depend on (from the kafka config namespace). */
export interface TopicSettingsConfig {
  replicationFactor: number;
  dlqTopic: string;
  dlqRetentionHours: number;
}

const HOUR_MS = 3_600_000;

/**
 * Topic-level settings the service creates a topic with. `min.insync.replicas` is one less than the
 * replication, so an `acks=all` write still succeeds with one broker down but never rests on a
 * single copy (at least 1: a single broker keeps working). Dead letters are kept long enough to be
 * looked at and replayed, and their segments roll daily so they are deleted close to that age
 * (docs/reliability.md, "The inbox must outlive every redelivery Kafka can make").
 */
export function topicConfigEntries(topic: string, cfg: TopicSettingsConfig): Array<{ name: string; value: string }> {
  const entries = [{ name: 'min.insync.replicas', value: String(Math.max(1, cfg.replicationFactor - 1)) }];
  if (topic === cfg.dlqTopic) {
    entries.push({ name: 'retention.ms', value: String(cfg.dlqRetentionHours * HOUR_MS) }, { name: 'segment.ms', value: String(Math.min(24, cfg.dlqRetentionHours) * HOUR_MS) });
  }
  return entries;
}
