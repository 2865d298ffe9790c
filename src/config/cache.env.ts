import { number } from './env-kit.js';

/**
 * The order read cache (docs/operations.md, ADR 0011): in the Redis of REDIS_URL, none without it.
 * The TTL bounds how stale a read can be when an invalidation is lost or races a reader, so it may
 * not exceed the one second the API promises.
 */
export const cacheEnv = {
  // 0: no cache even with REDIS_URL (the rate limit still uses it), e.g. to measure what the cache brings.
  STATUS_CACHE_TTL_MS: number({ min: 0, max: 1000 }).default(1000),
  // A Redis command slower than this counts as a failure: the read goes to the database.
  STATUS_CACHE_TIMEOUT_MS: number({ min: 1, max: 1000 }).default(50),
};
