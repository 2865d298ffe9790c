import { Inject, Injectable } from '@nestjs/common';
import { ExtractJwt } from 'passport-jwt';
import { authConfig, type AuthConfig } from '../../config/auth.config.js';
import type { AuthenticatedClient } from './access-token.js';

/** The raw token of `Authorization: Bearer <token>` (passport-jwt's own reading of the header), or null. */
export const bearerTokenOf: (req: unknown) => string | null = ExtractJwt.fromAuthHeaderAsBearerToken() as (req: unknown) => string | null;

/**
 * The callers of access tokens verified lately, by the token itself. A client sends the same token
 * for its whole lifetime, and checking its RS256 signature, issuer, audience and times again on
 * every request is a large share of the CPU of an authenticated read.
 *
 * - The key is the whole token, signature included: only a byte-identical token that passed the
 *   full check hits. A refused token is never kept.
 * - An entry never outlives the token's `exp` (without the clock skew the full check allows), nor
 *   `AUTH_TOKEN_CACHE_MAX_AGE_SECONDS`. That bounds how long a key the issuer has withdrawn from its
 *   JWKS still lets its tokens in.
 * - At most `AUTH_TOKEN_CACHE_SIZE` entries; the oldest goes first. 0 turns the cache off.
 */
@Injectable()
export class VerifiedTokenCache {
  private readonly entries = new Map<string, { client: AuthenticatedClient; until: number }>();
  private readonly maxEntries: number;
  private readonly maxAgeMs: number;

  constructor(@Inject(authConfig.KEY) cfg: Pick<AuthConfig, 'tokenCacheSize' | 'tokenCacheMaxAgeMs'>) {
    this.maxEntries = cfg.tokenCacheSize;
    this.maxAgeMs = cfg.tokenCacheMaxAgeMs;
  }

  /** The caller of a token verified lately and still within its time, or undefined. */
  get(token: string | null, now = Date.now()): AuthenticatedClient | undefined {
    if (!token) return undefined;
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (entry.until > now) return entry.client;
    this.entries.delete(token);
    return undefined;
  }

  /** Keeps the caller of a token that has just passed the full check; `exp` in seconds, as in the token. */
  remember(token: string, client: AuthenticatedClient, exp: number, now = Date.now()): void {
    const until = Math.min(exp * 1000, now + this.maxAgeMs);
    if (this.maxEntries === 0 || until <= now) return;
    this.entries.delete(token);
    while (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(token, { client, until });
  }

  get size(): number {
    return this.entries.size;
  }
}
