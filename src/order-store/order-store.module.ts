import { Module } from '@nestjs/common';
import { CustomerRepository } from './customer.repository.js';
import { IdempotencyKeyRepository } from './idempotency-key.repository.js';
import { OrderEventRepository } from './order-event.repository.js';
import { OrderRepository } from './order.repository.js';

/**
 * The order records: orders with their lines and status history, customers, and intake's
 * Idempotency-Keys, and each order's event log. Used by the intake (experience/orders) and the saga (process/orders) only; the
 * system modules keep their own records and learn about orders through Kafka.
 */
@Module({
  providers: [OrderRepository, CustomerRepository, IdempotencyKeyRepository, OrderEventRepository],
  exports: [OrderRepository, CustomerRepository, IdempotencyKeyRepository, OrderEventRepository],
})
export class OrderStoreModule {}
