import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { inheritOffsets } from '../../../src/platform/messaging/group-offsets.js';

/**
 * orders-in moved from the process group to the intake group: the new group must resume where the
 * old one left off, not re-read the retained topic (real broker).
 */
describe('inheritOffsets (real Kafka)', () => {
  let kafka: Kafka;
  let admin: Admin;
  const topic = `test-inherit-${randomUUID()}`;

  beforeAll(async () => {
    kafka = new Kafka({ clientId: 'test-inherit', brokers: (process.env.KAFKA_BROKERS ?? '').split(','), logLevel: logLevel.NOTHING });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 2 }] });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [0, 0, 0, 1, 1].map((partition, i) => ({ partition, value: `m${i}` })) });
    await producer.disconnect();
  });
  afterAll(async () => {
    await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin?.disconnect();
  });

  /** Commits `groupId`'s offsets on the topic, one per partition in partition order. */
  const commitOffsets = (groupId: string, offsets: string[]) => admin.setOffsets({ groupId, topic, partitions: offsets.map((offset, partition) => ({ partition, offset })) });

  const offsetsOf = async (groupId: string) => {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return Object.fromEntries(offsets.partitions.map((p) => [p.partition, p.offset]));
  };

  it("gives a group without offsets the other group's, and leaves them alone afterwards", async () => {
    const from = `test-from-${randomUUID()}`;
    const to = `test-to-${randomUUID()}`;
    await commitOffsets(from, ['2', '1']);

    expect(await inheritOffsets(admin, topic, from, to)).toEqual({ partitions: 2 });
    expect(await offsetsOf(to)).toEqual({ 0: '2', 1: '1' });

    // Once the group has offsets of its own, they are its own: a later start changes nothing.
    await commitOffsets(from, ['3', '2']);
    expect(await inheritOffsets(admin, topic, from, to)).toEqual({ skipped: `${to} has offsets on ${topic}` });
    expect(await offsetsOf(to)).toEqual({ 0: '2', 1: '1' });
  });

  it('does nothing on a new installation (the other group never committed): the group starts from the beginning', async () => {
    const from = `test-from-${randomUUID()}`;
    const to = `test-to-${randomUUID()}`;
    expect(await inheritOffsets(admin, topic, from, to)).toEqual({ skipped: `${from} has no offsets on ${topic}` });
    expect(await offsetsOf(to)).toEqual({ 0: '-1', 1: '-1' });
  });

  it('takes only the partitions the other group committed', async () => {
    const from = `test-from-${randomUUID()}`;
    const to = `test-to-${randomUUID()}`;
    await admin.setOffsets({ groupId: from, topic, partitions: [{ partition: 1, offset: '2' }] });
    expect(await inheritOffsets(admin, topic, from, to)).toEqual({ partitions: 1 });
    expect(await offsetsOf(to)).toEqual({ 0: '-1', 1: '2' });
  });
});
