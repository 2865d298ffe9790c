import { randomInt } from 'node:crypto';

/** A source of uniform numbers in [0, 1), reproducible when seeded. */
export interface Random {
  next(): number;
  /** An integer in [min, max], both included. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
}

/** mulberry32: a tiny, well-known 32-bit PRNG; plenty for simulated failures, not for secrets. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function createRandom(seed: number): Random {
  const next = mulberry32(seed);
  return {
    next,
    int: (min, max) => (max <= min ? min : min + Math.floor(next() * (max - min + 1))),
    pick: (items) => {
      if (!items.length) throw new RangeError('cannot pick from an empty list');
      return items[Math.floor(next() * items.length)];
    },
  };
}

/**
 * The seed of one module's generator: the configured seed mixed with the module name (FNV-1a), so
 * each module has its own reproducible sequence; a fresh random seed when none is configured.
 */
export function moduleSeed(seed: number | null, module: string): number {
  if (seed === null) return randomInt(0, 2 ** 32 - 1);
  let h = 0x811c9dc5;
  for (const ch of module) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return (h ^ seed) >>> 0;
}
