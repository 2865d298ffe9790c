import { createLocalJWKSet, createRemoteJWKSet, customFetch, errors, type CompactJWSHeaderParameters, type JWTVerifyGetKey } from 'jose';
import { InvalidTokenError, KeySourceUnavailableError } from './auth.errors.js';

export interface JwksKeyStoreOptions {
  /** Keys are refetched when older than this, on the next request that needs one. */
  cacheMaxAgeMs: number;
  /** At most this many fetches a minute, whatever the tokens ask for (unknown kids cost a fetch). */
  requestsPerMinute: number;
  timeoutMs: number;
}

type Fetch = (url: string, init: RequestInit) => Promise<Response>;
type VerificationKey = Awaited<ReturnType<JWTVerifyGetKey>>;

/** Failures of jose's key lookup that say nothing about the token: the issuer could not be asked. */
function isFetchFailure(err: unknown): boolean {
  if (!(err instanceof errors.JOSEError)) return true; // fetch's own TypeError, a refused connection
  return err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid || err.code === errors.JOSEError.code;
}

/**
 * The issuer's published signing keys (a JWKS): jose's remote key set, which caches them for
 * `cacheMaxAgeMs` and refetches for a token naming an unknown kid at most once per cooldown
 * (60 s / `requestsPerMinute`), one fetch at a time. Around it, what jose leaves to the caller:
 * - when a fetch fails, the keys already known keep working (a short issuer outage does not stop
 *   the API), and no new fetch is tried for one cooldown, so every request does not wait on it;
 * - a key that cannot be had while the issuer is down is KeySourceUnavailableError (503, retry),
 *   not an invalid token.
 */
export class JwksKeyStore {
  private readonly remote: ReturnType<typeof createRemoteJWKSet>;
  private readonly cooldownMs: number;
  private fetchFailedAt?: number;
  private lastKnown?: JWTVerifyGetKey;

  constructor(
    readonly jwksUri: string,
    options: JwksKeyStoreOptions,
    fetchFn?: Fetch,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.cooldownMs = Math.ceil(60_000 / options.requestsPerMinute);
    this.remote = createRemoteJWKSet(new URL(jwksUri), {
      cacheMaxAge: options.cacheMaxAgeMs,
      cooldownDuration: this.cooldownMs,
      timeoutDuration: options.timeoutMs,
      ...(fetchFn ? { [customFetch]: fetchFn } : {}),
    });
  }

  /** The key that verifies a token with this header (RS256, with a kid: SigningKeyResolver checked). */
  async keyFor(header: CompactJWSHeaderParameters): Promise<VerificationKey> {
    if (this.fetchFailedAt !== undefined && this.now() - this.fetchFailedAt < this.cooldownMs) return this.fromLastKnown(header, 'the last fetch failed');
    try {
      const key = await this.remote(header);
      this.fetchFailedAt = undefined;
      this.lastKnown = undefined;
      return key;
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey) throw new InvalidTokenError('The access token was signed with an unknown key');
      if (!isFetchFailure(err)) throw err;
      this.fetchFailedAt = this.now();
      return this.fromLastKnown(header, (err as Error).message);
    }
  }

  /** While the issuer cannot be reached: the keys of the last good fetch, if any holds this kid. */
  private async fromLastKnown(header: CompactJWSHeaderParameters, why: string): Promise<VerificationKey> {
    const retryAfterSeconds = Math.max(1, Math.ceil((this.cooldownMs - (this.now() - (this.fetchFailedAt ?? this.now()))) / 1000));
    if (!this.lastKnown) {
      const jwks = this.remote.jwks();
      if (!jwks) throw new KeySourceUnavailableError(`JWKS fetch failed: ${why}`, retryAfterSeconds);
      this.lastKnown = createLocalJWKSet(jwks);
    }
    try {
      return await this.lastKnown(header, undefined as never);
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey) throw new KeySourceUnavailableError(`JWKS fetch failed (${why}) and kid ${String(header.kid)} is not known`, retryAfterSeconds);
      throw err;
    }
  }
}
