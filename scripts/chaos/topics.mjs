// Reads whole topics back (to their end at the time of the call), for the ordering check of C10.
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';

/**
 * Every message of `topics`, by topic and key, in partition order: Map<topic, Map<key, eventId[]>>
 * (each event id at its first occurrence; a later copy is a redelivery, not a reordering).
 */
export async function readTopics(brokers, topics, timeoutMs = 300000) {
  const kafka = new Kafka({ clientId: 'order-flow-chaos', brokers: [brokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map();
  try {
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic)) {
        if (Number(p.high) > Number(p.low)) ends.set(`${topic}|${p.partition}`, Number(p.high));
      }
    }
  } finally {
    await admin.disconnect();
  }
  const out = new Map(topics.map((t) => [t, new Map()]));
  const seen = new Set();
  const pending = new Set(ends.keys());
  if (!pending.size) return out;
  const consumer = kafka.consumer({ groupId: `order-flow-chaos-reader-${randomUUID()}`, maxBytes: 10 * 1024 * 1024 });
  await consumer.connect();
  try {
    for (const topic of topics) await consumer.subscribe({ topic, fromBeginning: true });
    let finished;
    const done = new Promise((r) => (finished = r));
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const keys = out.get(batch.topic);
        for (const m of batch.messages) {
          const key = m.key?.toString() ?? '';
          let eventId = null;
          try {
            eventId = JSON.parse(m.value.toString()).eventId;
          } catch {
            continue;
          }
          const id = `${batch.topic}|${eventId}`;
          if (seen.has(id)) continue;
          seen.add(id);
          if (!keys.has(key)) keys.set(key, []);
          keys.get(key).push(eventId);
        }
        const tp = `${batch.topic}|${batch.partition}`;
        if (Number(batch.highWatermark) >= ends.get(tp) && Number(batch.lastOffset()) + 1 >= ends.get(tp)) pending.delete(tp);
        if (!pending.size) finished();
      },
    });
    const timer = new Promise((_, reject) => setTimeout(() => reject(new Error(`topics not read to their end within ${timeoutMs / 1000} s`)), timeoutMs).unref());
    await Promise.race([done, timer]);
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
  return out;
}

/**
 * Compares what reached Kafka with the outbox's order (rows logged at insert, see C10): for one
 * topic and key, a row that was due no later than a later row must be on the topic before it (the
 * relay reads due rows in id order). Returns { pairs, violations: [{ topic, key, first, second }], missing }.
 */
export function checkOutboxOrder(rows, onKafka) {
  const byKey = new Map();
  for (const r of rows) {
    const k = `${r.topic}|${r.message_key}`;
    if (!byKey.has(k)) byKey.set(k, []);
    byKey.get(k).push(r);
  }
  let pairs = 0;
  let missing = 0;
  const violations = [];
  for (const [k, list] of byKey) {
    const [topic, key] = [k.slice(0, k.indexOf('|')), k.slice(k.indexOf('|') + 1)];
    const seq = onKafka.get(topic)?.get(key) ?? [];
    // Each message at its first occurrence: a later copy is a redelivery, not a reordering.
    const pos = new Map();
    seq.forEach((id, i) => pos.has(id) || pos.set(id, i));
    list.sort((a, b) => Number(a.id) - Number(b.id));
    for (const r of list) if (!pos.has(r.event_id)) missing += 1;
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const [a, b] = [list[i], list[j]];
        if (!pos.has(a.event_id) || !pos.has(b.event_id)) continue;
        if (new Date(a.available_at).getTime() > new Date(b.available_at).getTime()) continue;
        pairs += 1;
        if (pos.get(a.event_id) > pos.get(b.event_id)) violations.push({ topic, key, first: a.event_id, second: b.event_id });
      }
    }
  }
  return { pairs, violations, missing };
}

/** Messages of `topic` that consumer group `groupId` has not committed yet (all of them if it has committed none). */
export async function groupLag(brokers, groupId, topic) {
  const kafka = new Kafka({ clientId: 'order-flow-chaos', brokers: [brokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    let lag = 0;
    for (const p of ends) {
      const c = committed?.partitions.find((x) => x.partition === p.partition);
      const at = c && Number(c.offset) >= 0 ? Number(c.offset) : Number(p.low);
      lag += Math.max(0, Number(p.high) - at);
    }
    return lag;
  } finally {
    await admin.disconnect();
  }
}
