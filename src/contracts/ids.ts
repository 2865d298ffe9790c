import { v7 } from 'uuid';

/**
 * A new id for a row or a message: a time-ordered UUID (RFC 9562 version 7, from the `uuid` package).
 * Its first 48 bits are the creation time in milliseconds, so ids made close together sort close
 * together. Every table keyed or indexed by these ids (orders and their children, the inbox, payments,
 * shipments) then appends to the right edge of its B-trees instead of writing into a random page of an
 * ever larger index: 60,000 inbox rows dirtied 1,472 pages instead of 12,880 (docs/adr/0004-time-ordered-ids.md).
 */
export function newId(): string {
  return v7();
}
