import { randomFillSync } from 'node:crypto';
import { v7 } from 'uuid';

/**
 * A new id for a row or a message: a time-ordered UUID (RFC 9562 version 7, from the `uuid` package).
 * Its first 48 bits are the creation time in milliseconds, so ids made close together sort close
 * together. Every table keyed or indexed by these ids (orders and their children, the inbox, payments,
 * shipments) then appends to the right edge of its B-trees instead of writing into a random page of an
 * ever larger index: 60,000 inbox rows dirtied 1,472 pages instead of 12,880 (docs/adr/0004-time-ordered-ids.md).
 *
 * The random bits come from a pool filled 256 ids at a time, as Node's own `randomUUID()` does: `v7()`
 * alone asks the CPRNG for 16 bytes per id, which cost 1.3 µs an id against 0.13 µs (an order makes
 * dozens of ids: its own, every message's, every row's; docs/benchmarks.md). The pool's bytes are the same
 * CPRNG's, taken in larger draws. Since ids then come with their random bytes, the monotonic counter
 * `v7()` keeps for its own draws is kept here: in one millisecond each id is the previous one plus 1.
 */
export function newId(): string {
  const random = randomBytes16();
  const now = Date.now();
  if (now > clock.msecs) {
    clock.msecs = now;
    // RFC 9562 §6.2 method 1, as `uuid` seeds it: 31 random bits, leaving room to count up.
    clock.seq = ((random[6]! & 0x7f) << 24) | (random[7]! << 16) | (random[8]! << 8) | random[9]!;
  } else {
    clock.seq = (clock.seq + 1) | 0;
    // The counter wrapped (2^31 ids in one millisecond): borrow the next millisecond, as `uuid` does.
    if (clock.seq === 0) clock.msecs += 1;
  }
  return v7({ random, msecs: clock.msecs, seq: clock.seq });
}

/** The millisecond of the last id and its counter (a clock that went back keeps counting on the last one). */
const clock = { msecs: -Infinity, seq: 0 };

const POOL_IDS = 256;
const pool = new Uint8Array(16 * POOL_IDS);
let poolUsed = pool.length;

/** 16 fresh random bytes (a view of the pool, read by `v7` before the next call). */
function randomBytes16(): Uint8Array {
  if (poolUsed === pool.length) {
    randomFillSync(pool);
    poolUsed = 0;
  }
  poolUsed += 16;
  return pool.subarray(poolUsed - 16, poolUsed);
}
