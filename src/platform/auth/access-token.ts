/** What the service knows about a caller once its access token is verified; `req.user`. */
export interface AuthenticatedClient {
  /** The token's subject: the client id for client-credentials tokens, the user for user tokens. */
  sub: string;
  /** The OAuth client that asked for the token (`client_id` RFC 9068, Okta's `cid`, or `azp`). */
  clientId: string;
  /**
   * Who owns the orders this caller creates, and so which orders it may see: Okta's `cid`, else
   * `client_id`, else `sub` (docs/security.md, Ownership).
   */
  owner: string;
  scopes: string[];
}

/** Whose orders a request may see: its owner's, or every order with `orders.admin`. */
export interface Viewer {
  owner: string;
  admin: boolean;
}

/** Claims of a verified access token that this service reads. */
export interface AccessTokenClaims {
  sub?: unknown;
  client_id?: unknown;
  cid?: unknown;
  azp?: unknown;
  scp?: unknown;
  scope?: unknown;
  exp?: unknown;
}

/** RFC 6749 §3.3 scope-token characters: printable ASCII except space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

function splitScopes(value: string): string[] {
  return value.split(/[ ]+/).filter((s) => SCOPE_TOKEN.test(s));
}

/**
 * The granted scopes: Okta's `scp` array (or a space-separated `scp` string some issuers send) and the
 * standard space-separated `scope` string. Each scope is a whole token; nothing is matched by substring.
 */
export function scopesOf(claims: AccessTokenClaims): Set<string> {
  const scopes = new Set<string>();
  const add = (value: unknown): void => {
    if (typeof value === 'string') splitScopes(value).forEach((s) => scopes.add(s));
    else if (Array.isArray(value)) value.forEach((v) => typeof v === 'string' && SCOPE_TOKEN.test(v) && scopes.add(v));
  };
  add(claims.scp);
  add(claims.scope);
  return scopes;
}

/** The required scopes the caller lacks (all are needed), by exact comparison. */
export function missingScopes(granted: Iterable<string>, required: readonly string[]): string[] {
  const have = new Set(granted);
  return required.filter((s) => !have.has(s));
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= 500 ? value : undefined;
}

/** Builds `req.user` from verified claims; null when the token names no subject or client. */
export function principalOf(claims: AccessTokenClaims): AuthenticatedClient | null {
  const clientId = nonEmptyString(claims.client_id) ?? nonEmptyString(claims.cid) ?? nonEmptyString(claims.azp);
  const sub = nonEmptyString(claims.sub) ?? clientId;
  if (!sub) return null;
  const owner = nonEmptyString(claims.cid) ?? nonEmptyString(claims.client_id) ?? sub;
  return { sub, clientId: clientId ?? sub, owner, scopes: [...scopesOf(claims)] };
}

/** Who made a request, as AccessTokenGuard verified it (`req.user`): for scoping keys and for audit lines. */
export function callerOf(req: object): string {
  const user = (req as { user?: Partial<AuthenticatedClient> }).user;
  return user?.clientId ?? user?.sub ?? 'anonymous';
}

/** The order owner and admin right of a request AccessTokenGuard verified. */
export function viewerOf(req: object): Viewer {
  const user = (req as { user?: Partial<AuthenticatedClient> }).user;
  return { owner: user?.owner ?? callerOf(req), admin: user?.scopes?.includes('orders.admin') ?? false };
}

/** True when `viewer` may see an order owned by `owner` (null: created before orders had owners; admins only). */
export function mayView(viewer: Viewer, owner: string | null): boolean {
  return viewer.admin || owner === viewer.owner;
}
