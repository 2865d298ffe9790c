import { createHash } from 'node:crypto';

/*
 * The listing's opaque cursor: base64url of a version byte, the last listed order's id (16 bytes) and
 * a digest (8 bytes) of both with the listing's filters. It carries only the position; the digest
 * makes a damaged or edited cursor, or one reused with other filters, a 400 instead of a silently
 * different page. It is no secret and grants nothing: the query applies the caller's filters and
 * ownership whatever the cursor says (docs/orders-listing.md).
 */

const VERSION = 1;
const ID_BYTES = 16;
const DIGEST_BYTES = 8;
const CURSOR_BYTES = 1 + ID_BYTES + DIGEST_BYTES;
const CURSOR_CHARS = Math.ceil((CURSOR_BYTES * 8) / 6);
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function digest(position: Buffer, filterKey: string): Buffer {
  return createHash('sha256').update(position).update(filterKey).digest().subarray(0, DIGEST_BYTES);
}

function uuidOf(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The cursor of the page after the order `lastId`, for the filters that `filterKey` stands for. */
export function encodeCursor(lastId: string, filterKey: string): string {
  if (!UUID.test(lastId)) throw new Error(`not a lower-case UUID: ${lastId}`);
  const position = Buffer.concat([Buffer.of(VERSION), Buffer.from(lastId.replace(/-/g, ''), 'hex')]);
  return Buffer.concat([position, digest(position, filterKey)]).toString('base64url');
}

/** The last listed order's id, or null when `cursor` is not one encodeCursor made for these filters. */
export function decodeCursor(cursor: string, filterKey: string): string | null {
  if (cursor.length !== CURSOR_CHARS || !BASE64URL.test(cursor)) return null;
  const bytes = Buffer.from(cursor, 'base64url');
  // Only the canonical spelling: unused trailing bits must be zero.
  if (bytes.length !== CURSOR_BYTES || bytes.toString('base64url') !== cursor || bytes[0] !== VERSION) return null;
  const position = bytes.subarray(0, 1 + ID_BYTES);
  if (!digest(position, filterKey).equals(bytes.subarray(1 + ID_BYTES))) return null;
  return uuidOf(position.subarray(1));
}
