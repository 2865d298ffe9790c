import type { Admin } from 'kafkajs';

/**
 * Gives consumer group `to`, when it has never committed an offset on `topic`, the offsets group
 * `from` committed there: a topic handed from one group to another resumes where it was instead of
 * being read again from the beginning (`fromBeginning`). Used for orders-in, which moved from the
 * process group to the intake group: without it an upgraded deployment would first re-read the whole
 * retained topic (harmless, every OrderCreated of an order past RECEIVED is a no-op, but new orders
 * would wait behind it).
 *
 * Does nothing when `to` has offsets of its own or `from` has none (a new installation). Kafka only
 * lets an empty group's offsets be set: run it before `to`'s consumers join. If another replica's
 * consumer has already joined, that replica did this first; the refusal is returned, not thrown.
 *
 * @returns the partitions given offsets, or why none were
 */
export async function inheritOffsets(admin: Admin, topic: string, from: string, to: string): Promise<{ partitions: number } | { skipped: string }> {
  const committed = async (groupId: string) => {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (offsets?.partitions ?? []).filter((p) => Number(p.offset) >= 0);
  };
  if ((await committed(to)).length) return { skipped: `${to} has offsets on ${topic}` };
  const inherited = await committed(from);
  if (!inherited.length) return { skipped: `${from} has no offsets on ${topic}` };
  try {
    await admin.setOffsets({ groupId: to, topic, partitions: inherited.map(({ partition, offset }) => ({ partition, offset })) });
  } catch (err) {
    return { skipped: `${to} is already running (${(err as Error).message})` };
  }
  return { partitions: inherited.length };
}
