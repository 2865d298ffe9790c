import { registerAs } from '@nestjs/config';
import { env } from './env.js';

export const cacheConfig = registerAs('cache', () => {
  const e = env();
  return {
    /** The cache lives in this Redis; undefined (or a TTL of 0): no cache, every read goes to the database. */
    redisUrl: e.STATUS_CACHE_TTL_MS > 0 ? e.REDIS_URL : undefined,
    ttlMs: e.STATUS_CACHE_TTL_MS,
    commandTimeoutMs: e.STATUS_CACHE_TIMEOUT_MS,
  };
});
export type CacheConfig = ReturnType<typeof cacheConfig>;
