import { randomInt } from 'node:crypto';
import type { ICustomPartitioner, PartitionerArgs } from 'kafkajs';

/*
 * The Java client's default partitioner, as KafkaJS's `Partitioners.DefaultPartitioner` has it, with
 * its murmur2 in 32-bit integer arithmetic (`Math.imul`). KafkaJS computes the same hash with 64-bit
 * `Long` objects, several allocated per 4 bytes of key: at 200 orders/s that was 2 % of the service's
 * event loop for the few thousand keys a second the relay sends. The low 32 bits of a product depend
 * only on the low 32 bits of its factors, so both give the same hash and put every key in the same
 * partition (test/unit/platform/key-partitioner.spec.ts compares them), during a rolling update too.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 of `key` (its UTF-8 bytes for a string), as a signed 32-bit integer. */
export function murmur2(key: Buffer | string): number {
  const data = typeof key === 'string' ? Buffer.from(key) : key;
  const length = data.length;
  let h = SEED ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  // The last one to three bytes, as the Java client's fall-through switch takes them.
  const rest = length & 3;
  if (rest === 3) h ^= data[whole + 2]! << 16;
  if (rest >= 2) h ^= data[whole + 1]! << 8;
  if (rest >= 1) h = Math.imul(h ^ data[whole]!, M);
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The Java client's `toPositive`: the sign bit cleared (not the absolute value). */
const toPositive = (x: number): number => x & 0x7fffffff;

/**
 * `createPartitioner` for KafkaJS: a message's own partition if it names one, else murmur2 of its key
 * modulo the topic's partitions, else round robin over the partitions that have a leader.
 */
export const KeyPartitioner: ICustomPartitioner = () => {
  const counters = new Map<string, number>();
  const next = (topic: string): number => {
    const n = (counters.get(topic) ?? randomInt(0x7fffffff)) + 1;
    counters.set(topic, n);
    return toPositive(n);
  };
  return ({ topic, partitionMetadata, message }: PartitionerArgs): number => {
    if (message.partition !== null && message.partition !== undefined) return message.partition;
    if (message.key !== null && message.key !== undefined) return toPositive(murmur2(message.key)) % partitionMetadata.length;
    const available = partitionMetadata.filter((p) => p.leader >= 0);
    if (available.length) return available[next(topic) % available.length]!.partitionId;
    return next(topic) % partitionMetadata.length;
  };
};
