import { Module } from '@nestjs/common';
import { ConfigModule, type ConfigType } from '@nestjs/config';
import { cacheConfig } from '../config/cache.config.js';
import { CustomerRepository } from './customer.repository.js';
import { IdempotencyKeyRepository } from './idempotency-key.repository.js';
import { OrderEventRepository } from './order-event.repository.js';
import { NoOrderReadCache, OrderReadCache, RedisOrderReadCache } from './order-read-cache.js';
import { OrderRepository } from './order.repository.js';

/**
 * The order records: orders with their lines and status history, customers, and intake's
 * Idempotency-Keys, each order's event log, and the cache of their reads (in Redis when REDIS_URL
 * is set). Used by the intake (experience/orders) and the saga (process/orders) only; the system
 * modules keep their own records and learn about orders through Kafka.
 */
@Module({
  imports: [ConfigModule.forFeature(cacheConfig)],
  providers: [
    OrderRepository,
    CustomerRepository,
    IdempotencyKeyRepository,
    OrderEventRepository,
    {
      provide: OrderReadCache,
      inject: [cacheConfig.KEY],
      useFactory: (cfg: ConfigType<typeof cacheConfig>): OrderReadCache =>
        cfg.redisUrl ? new RedisOrderReadCache({ redisUrl: cfg.redisUrl, ttlMs: cfg.ttlMs, commandTimeoutMs: cfg.commandTimeoutMs }) : new NoOrderReadCache(),
    },
  ],
  exports: [OrderRepository, CustomerRepository, IdempotencyKeyRepository, OrderEventRepository, OrderReadCache],
})
export class OrderStoreModule {}
