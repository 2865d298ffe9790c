import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the caller's window starts over. */
  resetSeconds: number;
}

export interface RateLimiterOptions {
  /** Requests per window and key. */
  limit: number;
  windowSeconds?: number;
  /** Counts live in this Redis, shared by every replica; unset: in this process. */
  redisUrl?: string;
  /** Prefix of the Redis keys (`<prefix>:<key>`). */
  keyPrefix?: string;
}

/** A Redis command slower than this counts as Redis being down: the in-memory limiter answers. */
const REDIS_COMMAND_TIMEOUT_MS = 500;

/**
 * Fixed-window counter per key (a client id or an IP), with rate-limiter-flexible: in memory by
 * default (the limit holds per replica), in Redis when a URL is given (the limit holds across all
 * replicas that share it). While Redis cannot be reached (down, not yet connected, slower than
 * 500 ms) an in-memory limiter with the same limit takes over in each replica, so requests are still
 * limited, per replica, and never fail because of Redis; Redis takes over again once it is back.
 */
export class RateLimiter implements OnApplicationShutdown {
  private readonly logger = new Logger('RateLimit');
  private readonly limiter: RateLimiterAbstract;
  private readonly redis?: Redis;
  private redisDown = false;
  private closing = false;

  constructor(readonly options: RateLimiterOptions) {
    const duration = options.windowSeconds ?? 60;
    const memory = new RateLimiterMemory({ points: options.limit, duration });
    if (!options.redisUrl) {
      this.limiter = memory;
      return;
    }
    // No offline queue: a command while disconnected fails at once and the insurance limiter answers.
    this.redis = new Redis(options.redisUrl, { enableOfflineQueue: false, commandTimeout: REDIS_COMMAND_TIMEOUT_MS, connectTimeout: 5000, maxRetriesPerRequest: 0 });
    const where = redactedUrl(options.redisUrl);
    this.redis.on('ready', () => {
      this.logger.log(`rate limits are counted in Redis at ${where}, shared by all replicas`);
      this.redisDown = false;
    });
    const down = (why: string): void => {
      if (this.redisDown || this.closing) return;
      this.redisDown = true;
      this.logger.warn(`Redis at ${where} unavailable (${why}): rate limits are counted per replica until it is back`);
    };
    // ioredis reconnects by itself; one warning per outage, one line when it is back.
    this.redis.on('error', (err: Error) => down(err.message));
    this.redis.on('close', () => down('connection closed'));
    this.limiter = new RateLimiterRedis({
      storeClient: this.redis,
      points: options.limit,
      duration,
      keyPrefix: options.keyPrefix ?? 'order-flow:rate-limit',
      rejectIfRedisNotReady: true,
      insuranceLimiter: memory,
    });
  }

  get limit(): number {
    return this.options.limit;
  }

  /** True while the counts are those in Redis, shared by all replicas; false: this process's own. */
  get shared(): boolean {
    return this.redis?.status === 'ready';
  }

  async hit(key: string): Promise<RateDecision> {
    let res: RateLimiterRes;
    try {
      res = await this.limiter.consume(key);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      res = rejection;
    }
    return {
      allowed: res.consumedPoints <= this.options.limit,
      limit: this.options.limit,
      remaining: Math.max(0, res.remainingPoints),
      resetSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
    };
  }

  /** Closes the Redis connection, if any (Nest calls it at shutdown). */
  close(): void {
    this.closing = true;
    this.redis?.disconnect();
  }

  onApplicationShutdown(): void {
    this.close();
  }
}

function redactedUrl(raw: string): string {
  const u = new URL(raw);
  return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
}
