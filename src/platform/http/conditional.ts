import { createHash } from 'node:crypto';
import type { Response } from 'express';

/** A JSON answer as sent, with the entity tag that names its content. */
export interface Representation {
  etag: string;
  json: string;
}

/** A strong ETag from the body's bytes: it changes whenever the body does, whatever changed it. */
export function etagOf(json: string): string {
  return `"${createHash('sha256').update(json).digest('base64url').slice(0, 27)}"`;
}

/**
 * True when an If-None-Match header matches `etag` (RFC 9110 §13.1.2): `*`, or a list that names it.
 * The comparison is weak, as the RFC has it for If-None-Match: `W/"x"` matches `"x"`.
 */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  const opaque = withoutWeakPrefix(etag);
  return header.split(',').some((tag) => withoutWeakPrefix(tag.trim()) === opaque);
}

function withoutWeakPrefix(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}

/**
 * Sends `representation` with its ETag, or `304 Not Modified` without a body when `ifNoneMatch`
 * matches it. `private, no-cache`: only the client itself may keep it, and must revalidate each use.
 */
export function sendConditional(res: Response, representation: Representation, ifNoneMatch: string | undefined): void {
  res.setHeader('ETag', representation.etag);
  res.setHeader('Cache-Control', 'private, no-cache');
  if (noneMatch(ifNoneMatch, representation.etag)) res.status(304).end();
  else res.status(200).type('application/json').send(representation.json);
}
