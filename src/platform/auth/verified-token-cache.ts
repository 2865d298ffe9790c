import { Inject, Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { authConfig, type AuthConfig } from '../../config/auth.config.js';
import type { AuthenticatedClient } from './access-token.js';

interface Entry {
  client: AuthenticatedClient;
  /** Epoch ms after which the entry is not used, whatever lru-cache's own clock says. */
  until: number;
}

/**
 * The callers of access tokens verified lately, by the token itself (lru-cache). A client sends the
 * same token for its whole lifetime, and checking its RS256 signature, issuer, audience and times
 * again on every request is a large share of the CPU of an authenticated read.
 *
 * - The key is the whole token, signature included: only a byte-identical token that passed the
 *   full check hits. A refused token is never kept.
 * - An entry never outlives the token's `exp` (without the clock skew the full check allows), nor
 *   `AUTH_TOKEN_CACHE_MAX_AGE_SECONDS`. That bounds how long a key the issuer has withdrawn from its
 *   JWKS still lets its tokens in.
 * - At most `AUTH_TOKEN_CACHE_SIZE` entries; the least recently used goes first. 0 turns the cache off.
 */
@Injectable()
export class VerifiedTokenCache {
  private readonly entries: LRUCache<string, Entry> | null;
  private readonly maxAgeMs: number;

  constructor(@Inject(authConfig.KEY) cfg: Pick<AuthConfig, 'tokenCacheSize' | 'tokenCacheMaxAgeMs'>) {
    this.maxAgeMs = cfg.tokenCacheMaxAgeMs;
    // ttl per entry (set below) lets lru-cache drop expired entries; `until` is the authority on reads.
    this.entries = cfg.tokenCacheSize > 0 ? new LRUCache<string, Entry>({ max: cfg.tokenCacheSize, ttl: cfg.tokenCacheMaxAgeMs, ttlAutopurge: false }) : null;
  }

  /** The caller of a token verified lately and still within its time, or undefined. */
  get(token: string | null, now = Date.now()): AuthenticatedClient | undefined {
    if (!token || !this.entries) return undefined;
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (entry.until > now) return entry.client;
    this.entries.delete(token);
    return undefined;
  }

  /** Keeps the caller of a token that has just passed the full check; `exp` in seconds, as in the token. */
  remember(token: string, client: AuthenticatedClient, exp: number, now = Date.now()): void {
    const until = Math.min(exp * 1000, now + this.maxAgeMs);
    if (!this.entries || until <= now) return;
    this.entries.set(token, { client, until }, { ttl: until - now });
  }

  get size(): number {
    return this.entries?.size ?? 0;
  }
}
