import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { InvalidTokenError, KeySourceUnavailableError } from './auth.errors.js';

export interface JwksKeyStoreOptions {
  /** Keys are refetched when older than this, on the next request that needs one. */
  cacheMaxAgeMs: number;
  /** At most this many fetches a minute, whatever the tokens ask for (unknown kids cost a fetch). */
  requestsPerMinute: number;
  timeoutMs: number;
}

type Fetch = (url: string, init: RequestInit) => Promise<Response>;

/**
 * The issuer's published signing keys (a JWKS), as PEM, by key id: cached, refetched when stale or
 * when a token names an unknown kid (within a rate budget, one fetch at a time). When a refetch fails
 * the keys already known keep working, so a short issuer outage does not stop the API.
 *
 * Our own code rather than jwks-rsa: jwks-rsa 4 is CommonJS and requires the ESM-only `jose`, which
 * Jest cannot load on Node 20, and the tests must run exactly this code.
 */
export class JwksKeyStore {
  private keys = new Map<string, string>();
  private fetchedAt = 0;
  private inflight?: Promise<void>;
  private fetchTimes: number[] = [];

  constructor(
    readonly jwksUri: string,
    private readonly options: JwksKeyStoreOptions,
    private readonly fetchFn: Fetch = fetch,
    private readonly now: () => number = Date.now,
  ) {}

  async publicKeyPem(kid: string): Promise<string> {
    const known = this.keys.get(kid);
    const stale = this.now() - this.fetchedAt > this.options.cacheMaxAgeMs;
    if (known && !stale) return known;
    if (this.mayFetch()) {
      try {
        await this.refresh();
      } catch (err) {
        if (known) return known;
        throw new KeySourceUnavailableError(`JWKS fetch failed: ${(err as Error).message}`, 5);
      }
    }
    const key = this.keys.get(kid);
    if (key) return key;
    throw new InvalidTokenError('The access token was signed with an unknown key');
  }

  private mayFetch(): boolean {
    const since = this.now() - 60_000;
    this.fetchTimes = this.fetchTimes.filter((t) => t > since);
    return this.inflight !== undefined || this.fetchTimes.length < this.options.requestsPerMinute;
  }

  private refresh(): Promise<void> {
    if (!this.inflight) {
      this.fetchTimes.push(this.now());
      this.inflight = this.fetchKeys().finally(() => {
        this.inflight = undefined;
      });
    }
    return this.inflight;
  }

  private async fetchKeys(): Promise<void> {
    const res = await this.fetchFn(this.jwksUri, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(this.options.timeoutMs), redirect: 'error' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const body = (await res.json()) as { keys?: unknown };
    if (!Array.isArray(body.keys)) throw new Error('the document has no keys');
    const keys = new Map<string, string>();
    for (const jwk of body.keys as Array<JsonWebKey & { kid?: unknown; use?: unknown; alg?: unknown }>) {
      // Only RSA signing keys meant for RS256 (or not restricted) can verify our tokens.
      if (jwk.kty !== 'RSA' || typeof jwk.kid !== 'string' || (jwk.use !== undefined && jwk.use !== 'sig') || (jwk.alg !== undefined && jwk.alg !== 'RS256')) continue;
      try {
        const { kty, n, e } = jwk;
        keys.set(jwk.kid, createPublicKey({ key: { kty, n, e }, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString());
      } catch {
        // A malformed key is skipped; the others still count.
      }
    }
    if (!keys.size) throw new Error('the document has no RSA signing keys');
    this.keys = keys;
    this.fetchedAt = this.now();
  }
}
