/** RFC 6750 §3 error codes carried in `WWW-Authenticate: Bearer …`. */
export type BearerError = 'invalid_request' | 'invalid_token' | 'insufficient_scope';

export interface BearerChallenge {
  error?: BearerError;
  description?: string;
  /** The scopes the resource needs, for `insufficient_scope`. */
  scope?: string;
}

export const BEARER_REALM = 'order-flow';

/** Attribute values may hold only %x20-21 / %x23-5B / %x5D-7E (RFC 6750 §3): drop anything else. */
function quoted(value: string): string {
  return `"${value.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '')}"`;
}

/**
 * The challenge header of a 401 or 403. With no credentials at all, no error code is sent (§3.1).
 */
export function bearerChallenge(c: BearerChallenge = {}): string {
  const attrs = [`realm=${quoted(BEARER_REALM)}`];
  if (c.error) attrs.push(`error=${quoted(c.error)}`);
  if (c.error && c.description) attrs.push(`error_description=${quoted(c.description)}`);
  if (c.scope) attrs.push(`scope=${quoted(c.scope)}`);
  return `Bearer ${attrs.join(', ')}`;
}

/** RFC 6750 §2.1: `Authorization: Bearer <b64token>` (the scheme in any case); anything else is null. */
const BEARER_CREDENTIALS = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** The raw token of `Authorization: Bearer <token>`, or null (no header, another scheme, a malformed value). */
export function bearerTokenOf(req: { headers?: Record<string, unknown> }): string | null {
  const header = req.headers?.authorization;
  if (typeof header !== 'string') return null;
  return BEARER_CREDENTIALS.exec(header)?.[1] ?? null;
}
