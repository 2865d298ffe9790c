import type { Kafka } from 'kafkajs';
import { readDeadLetters } from '../messaging/dead-letters.js';
import type { Violation } from './invariants.js';

export interface DlqCheckOptions {
  kafka: Kafka;
  topic: string;
  /** Letters tolerated (poison injected on purpose). */
  allow?: number;
  /** The service's group prefix: the reader that lists offending letters uses a group under it (ACLs). */
  groupPrefix?: string;
  /** How long listing the letters' keys may take before the count alone is reported. */
  listTimeoutMs?: number;
}

/** Messages in the topic, from the admin API (each partition's end minus its start): no consumer needed. */
export async function countTopicMessages(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    // A DLQ topic that was never created holds nothing (asking for its offsets would fail).
    if (!(await admin.listTopics()).includes(topic)) return 0;
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(BigInt(p.high) - BigInt(p.low)), 0);
  } finally {
    await admin.disconnect();
  }
}

/**
 * I6: the DLQ holds at most `allow` messages. Throws when Kafka cannot be read (could not check).
 * Over the allowance, the letters are read (best effort, bounded) to name their keys, the order ids.
 */
export async function checkDlq(options: DlqCheckOptions): Promise<Violation[]> {
  const count = await countTopicMessages(options.kafka, options.topic);
  const allow = options.allow ?? 0;
  if (count <= allow) return [];
  let orderIds: string[] = [];
  let listed = '';
  try {
    const letters = await readDeadLetters(options.kafka, options.topic, options.groupPrefix ?? 'order-flow', {}, options.listTimeoutMs ?? 15000);
    orderIds = [...new Set(letters.map((l) => l.key).filter((k): k is string => k !== null))];
    const groups = [...new Set(letters.map((l) => `${l.consumerGroup} on ${l.originTopic}`))];
    listed = letters.length ? ` (${groups.join(', ')}; keys listed as order ids)` : '';
  } catch (err) {
    listed = ` (could not list them: ${(err as Error).message})`;
  }
  return [{ invariant: 'I6', orderIds, detail: `${count} message(s) in ${options.topic}, ${allow} allowed${listed}; see npm run dlq -- list` }];
}
