import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { Partitioners, type PartitionerArgs } from 'kafkajs';
import { KeyPartitioner, murmur2 } from '../../../src/platform/messaging/key-partitioner.js';

// KafkaJS's own murmur2 (64-bit Long arithmetic), the reference the fast one must equal.
const kafkajsMurmur2 = createRequire(import.meta.url)('kafkajs/src/producer/partitioners/default/murmur2') as (key: Buffer | string) => number;

const partitions = (n: number, leaderless: number[] = []) =>
  Array.from({ length: n }, (_, partitionId) => ({
    partitionId,
    leader: leaderless.includes(partitionId) ? -1 : 0,
    replicas: [0],
    isr: [0],
    partitionErrorCode: 0,
    offlineReplicas: [],
  }));

describe('KeyPartitioner', () => {
  it("hashes as the Java client's murmur2 does (its published test vectors)", () => {
    // org.apache.kafka.common.utils.UtilsTest#testMurmur2
    expect(murmur2('21')).toBe(-973932308);
    expect(murmur2('foobar')).toBe(-790332482);
    expect(murmur2('a-little-bit-long-string')).toBe(-985981536);
    expect(murmur2('a-little-bit-longer-string')).toBe(-1486304829);
    expect(murmur2('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8')).toBe(-58897971);
    expect(murmur2(Buffer.from([0x61, 0x62, 0x63]))).toBe(479470107);
  });

  it('gives the hash of KafkaJS for keys of every length, strings, UTF-8 and bytes', () => {
    const keys: Array<Buffer | string> = ['', 'é', 'ordre-été-🚚', '01a25324-3320-76f6-8b36-fa8d9995e61a'];
    for (let length = 0; length < 80; length++) keys.push(randomBytes(length), randomBytes(length).toString('hex').slice(0, length));
    for (const key of keys) expect([key, murmur2(key)]).toEqual([key, kafkajsMurmur2(key)]);
  });

  it("puts every key in KafkaJS DefaultPartitioner's partition", () => {
    const ours = KeyPartitioner();
    const theirs = Partitioners.DefaultPartitioner();
    for (const n of [1, 3, 6, 12, 50]) {
      for (let i = 0; i < 300; i++) {
        const args: PartitionerArgs = { topic: 'orders-in', partitionMetadata: partitions(n), message: { key: randomBytes(18).toString('base64'), value: null } };
        expect(ours(args)).toBe(theirs(args));
      }
    }
  });

  it('keeps a partition the message names, and spreads keyless messages over the partitions that have a leader', () => {
    const partitionOf = KeyPartitioner();
    expect(partitionOf({ topic: 't', partitionMetadata: partitions(6), message: { key: 'k', partition: 4, value: null } })).toBe(4);
    const chosen = Array.from({ length: 60 }, () => partitionOf({ topic: 't', partitionMetadata: partitions(6, [1, 3]), message: { value: null } }));
    expect(new Set(chosen)).toEqual(new Set([0, 2, 4, 5]));
    // Round robin: each available partition equally often.
    for (const p of [0, 2, 4, 5]) expect(chosen.filter((c) => c === p)).toHaveLength(15);
  });
});
