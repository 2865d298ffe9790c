import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { statusCacheErrors, statusCacheRequests } from '../platform/observability/metrics.counters.js';

/** The reads the cache keeps: `GET /api/orders/{id}/status` and `GET /api/orders/{id}`. */
export type CachedView = 'status' | 'order';

/** One cached answer: its owner (a hit is checked against it), its ETag and its body as sent. */
export interface CachedRead {
  /** The order's owner (null: from before owners were recorded). */
  owner: string | null;
  etag: string;
  json: string;
}

/**
 * Cache-aside for the order reads (ADR 0011): a read looks here first and fills the entry on a miss;
 * the saga invalidates the orders it changed once their transaction has committed. Entries expire
 * after a TTL of at most 1 s, which bounds what an invalidation cannot: a reader that fetched a row
 * before a commit and fills the entry after its invalidation.
 */
export abstract class OrderReadCache {
  /** The entry, or null on a miss and whenever the cache cannot answer (the caller reads the database). */
  abstract get(view: CachedView, orderId: string): Promise<CachedRead | null>;
  /** Stores the entry for the TTL, in the background: a read never waits for it. */
  abstract set(view: CachedView, orderId: string, read: CachedRead): void;
  /** Drops every entry of these orders, in one command, in the background. */
  abstract invalidate(orderIds: readonly string[]): void;
}

/** Without REDIS_URL: no cache, every read goes to the database. */
export class NoOrderReadCache extends OrderReadCache {
  get(): Promise<CachedRead | null> {
    return Promise.resolve(null);
  }

  set(): void {}

  invalidate(): void {}
}

export interface RedisOrderReadCacheOptions {
  redisUrl: string;
  ttlMs: number;
  /** A command slower than this fails, and the read goes to the database. */
  commandTimeoutMs: number;
  /** Prefix of the keys (`<prefix>:<view>:<orderId>`). */
  keyPrefix?: string;
}

/**
 * The cache in Redis. While Redis is down or slow, reads go to the database without an error and
 * without waiting: no offline queue (a command while disconnected fails at once), a short command
 * timeout, no retries. Each failure counts in `order_flow_status_cache_errors_total`; the log has one
 * line when an outage starts and one when Redis answers again.
 */
export class RedisOrderReadCache extends OrderReadCache implements OnApplicationShutdown {
  private readonly logger = new Logger('OrderReadCache');
  private readonly redis: Redis;
  private readonly keyPrefix: string;
  private readonly where: string;
  private down = false;
  private closing = false;

  constructor(private readonly options: RedisOrderReadCacheOptions) {
    super();
    this.keyPrefix = options.keyPrefix ?? 'order-flow:orders';
    this.where = redactedUrl(options.redisUrl);
    // Auto-pipelining: the reads of concurrent requests share a round trip to Redis.
    this.redis = new Redis(options.redisUrl, {
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      commandTimeout: options.commandTimeoutMs,
      connectTimeout: 5000,
      maxRetriesPerRequest: 0,
    });
    this.redis.once('ready', () => this.logger.log(`order reads are cached in Redis at ${this.where} for ${options.ttlMs} ms`));
    // ioredis reconnects by itself; these only report it.
    this.redis.on('ready', () => this.back());
    this.redis.on('error', (err: Error) => this.outage(err.message));
    this.redis.on('close', () => this.outage('connection closed'));
  }

  async get(view: CachedView, orderId: string): Promise<CachedRead | null> {
    try {
      const raw = await this.redis.get(this.key(view, orderId));
      this.back();
      statusCacheRequests.inc({ result: raw === null ? 'miss' : 'hit' });
      return raw === null ? null : (JSON.parse(raw) as CachedRead);
    } catch (err) {
      this.failed(err);
      statusCacheRequests.inc({ result: 'error' });
      return null;
    }
  }

  set(view: CachedView, orderId: string, read: CachedRead): void {
    this.redis.set(this.key(view, orderId), JSON.stringify(read), 'PX', this.options.ttlMs).then(
      () => this.back(),
      (err: unknown) => this.failed(err),
    );
  }

  invalidate(orderIds: readonly string[]): void {
    if (!orderIds.length) return;
    const keys = orderIds.flatMap((id) => [this.key('status', id), this.key('order', id)]);
    // UNLINK: Redis frees the values in the background; a lost invalidation is bounded by the TTL.
    this.redis.unlink(...keys).then(
      () => this.back(),
      (err: unknown) => this.failed(err),
    );
  }

  onApplicationShutdown(): void {
    this.closing = true;
    this.redis.disconnect();
  }

  private key(view: CachedView, orderId: string): string {
    return `${this.keyPrefix}:${view}:${orderId}`;
  }

  private failed(err: unknown): void {
    statusCacheErrors.inc();
    this.outage((err as Error).message);
  }

  private outage(why: string): void {
    if (this.down || this.closing) return;
    this.down = true;
    this.logger.warn(`Redis at ${this.where} unavailable (${why}): order reads go to the database until it is back`);
  }

  private back(): void {
    if (!this.down) return;
    this.down = false;
    this.logger.log(`Redis at ${this.where} answers again: order reads are cached`);
  }
}

function redactedUrl(raw: string): string {
  const u = new URL(raw);
  return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
}
