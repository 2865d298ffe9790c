import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { DeadLetter } from '../../contracts/dead-letter.js';
import { groupByTopic, ORDERED_PRODUCER } from './kafka-producer.service.js';

/** What a consumer writes to the DLQ topic when it gives up on a message: its schema is a contract (src/contracts/dead-letter.ts). */
export type { DeadLetter } from '../../contracts/dead-letter.js';

/** A dead letter with its own place in the DLQ topic, which names it for a replay. */
export interface StoredDeadLetter extends DeadLetter {
  /** `partition@offset` in the DLQ topic. */
  id: string;
}

export interface DeadLetterFilter {
  /** Only these (`partition@offset` in the DLQ topic). */
  ids?: string[];
  /** Only those the consumer group gave up on. */
  consumerGroup?: string;
  /** Only those that failed at or after this time. */
  since?: Date;
}

/** The header a replayed message carries: which dead letter it came from. */
export const HEADER_REPLAY_OF = 'x-dlq-replay-of';

/** A dead letter's id as listed: `partition@offset` in the DLQ topic. */
export const DEAD_LETTER_ID = /^\d{1,9}@\d{1,19}$/;
const REPLAY_CHUNK = 50;

/** Checks ids given by an operator (`partition@offset`); throws on the first malformed one. */
export function parseDeadLetterIds(ids: string[]): string[] {
  for (const id of ids) if (!DEAD_LETTER_ID.test(id)) throw new Error(`not a dead letter id: ${id} (expected partition@offset, as listed)`);
  return ids;
}

/** The named ids that `letters` (as read) does not hold: a replay of those must not start. */
export function missingDeadLetters(ids: string[], letters: StoredDeadLetter[]): string[] {
  const found = new Set(letters.map((l) => l.id));
  return ids.filter((id) => !found.has(id));
}

/**
 * Reads the DLQ topic from its start to its current end, with a consumer group of its own that
 * commits nothing (so it never moves anyone else's position), and returns the letters that pass
 * `filter`, in partition and offset order. Records that are not dead letters are skipped.
 */
export async function readDeadLetters(kafka: Kafka, topic: string, groupPrefix: string, filter: DeadLetterFilter = {}, timeoutMs = 30000): Promise<StoredDeadLetter[]> {
  const last = await lastOffsets(kafka, topic);
  if (!last.size) return [];
  const wanted = filter.ids ? new Set(filter.ids) : null;
  const letters: StoredDeadLetter[] = [];
  await readToEnd(kafka, { topic, groupPrefix, timeoutMs, last }, (partition, message) => {
    const letter = asDeadLetter(message.value?.toString('utf8'));
    const id = `${partition}@${message.offset}`;
    if (letter && (!wanted || wanted.has(id)) && matches(letter, filter)) letters.push({ ...letter, id });
  });
  return letters.sort((a, b) => compareIds(a.id, b.id));
}

/** The last offset to read in each partition of `topic` that has anything. */
async function lastOffsets(kafka: Kafka, topic: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    return new Map(ends.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high) - 1n]));
  } finally {
    await admin.disconnect();
  }
}

interface ReadToEnd {
  topic: string;
  groupPrefix: string;
  timeoutMs: number;
  /** The last offset to read per partition; a partition leaves once read. */
  last: Map<number, bigint>;
}

/** Hands `each` every record up to the `last` offsets, with a throw-away consumer group that commits nothing. */
async function readToEnd(kafka: Kafka, { topic, groupPrefix, timeoutMs, last }: ReadToEnd, each: (partition: number, message: KafkaMessage) => void): Promise<void> {
  // Named like the service's groups (`<prefix>-<name>`), so the same PREFIXED group ACL covers it.
  const consumer = kafka.consumer({
    groupId: `${groupPrefix}-dlq-reader-${randomUUID()}`,
    allowAutoTopicCreation: false,
    retry: { retries: 2, restartOnFailure: async () => false },
  });
  let done!: () => void;
  let fail!: (err: Error) => void;
  const allRead = new Promise<void>((resolve, reject) => ((done = resolve), (fail = reject)));
  const timer = setTimeout(() => fail(new Error(`could not read ${topic} to its end within ${timeoutMs} ms`)), timeoutMs);
  // A refusal (no READ on the topic or the group) or a lost broker crashes the consumer: say so now, not at the timeout.
  consumer.on(consumer.events.CRASH, ({ payload }) => fail(payload.error));
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const offset = BigInt(message.offset);
        const end = last.get(partition);
        if (end === undefined || offset > end) return;
        each(partition, message);
        if (offset !== end) return;
        last.delete(partition);
        if (!last.size) done();
      },
    });
    await allRead;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
}

/**
 * Publishes each letter's original message again to its origin topic, with its key, its headers and
 * `x-dlq-replay-of`. Every consumer group of that topic receives it; those that had processed it find
 * its eventId in their inbox and skip it, so only the group that gave up does the work again.
 * Letters without a value (a tombstone) have nothing to replay and are skipped. Returns the ids of both.
 */
export async function replayDeadLetters(kafka: Kafka, dlqTopic: string, letters: StoredDeadLetter[]): Promise<{ replayed: string[]; skipped: string[] }> {
  const replayable = letters.filter((l) => l.value !== null);
  const skipped = letters.filter((l) => l.value === null).map((l) => l.id);
  if (!replayable.length) return { replayed: [], skipped };
  const producer = kafka.producer(ORDERED_PRODUCER);
  await producer.connect();
  try {
    // Chunks of REPLAY_CHUNK, in the order listed: a record batch per partition stays well under the
    // broker's message.max.bytes, and one partition receives its letters in that order.
    for (let start = 0; start < replayable.length; start += REPLAY_CHUNK) {
      const chunk = replayable.slice(start, start + REPLAY_CHUNK).map((letter) => ({
        topic: letter.originTopic,
        message: { key: letter.key, value: letter.value, headers: { ...letter.headers, [HEADER_REPLAY_OF]: `${dlqTopic}/${letter.id}` } },
      }));
      await producer.sendBatch({ topicMessages: groupByTopic(chunk), acks: -1 });
    }
  } finally {
    await producer.disconnect();
  }
  return { replayed: replayable.map((l) => l.id), skipped };
}

function asDeadLetter(raw: string | undefined): DeadLetter | null {
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as Partial<DeadLetter>;
    return typeof v.originTopic === 'string' && typeof v.consumerGroup === 'string' && typeof v.offset === 'string' ? (v as DeadLetter) : null;
  } catch {
    return null;
  }
}

function matches(letter: DeadLetter, filter: DeadLetterFilter): boolean {
  if (filter.consumerGroup && letter.consumerGroup !== filter.consumerGroup) return false;
  if (filter.since && !(new Date(letter.failedAt).getTime() >= filter.since.getTime())) return false;
  return true;
}

function compareIds(a: string, b: string): number {
  const [pa, oa] = a.split('@').map(BigInt);
  const [pb, ob] = b.split('@').map(BigInt);
  return pa !== pb ? (pa < pb ? -1 : 1) : oa < ob ? -1 : oa > ob ? 1 : 0;
}
