import { Module } from '@nestjs/common';
import { OrderStoreModule } from '../../order-store/order-store.module.js';
import { IdempotencyKeyPrunerService } from './idempotency-key-pruner.service.js';
import { OrderReadsService } from './order-reads.service.js';
import { OrdersController } from './orders.controller.js';
import { OrdersService } from './orders.service.js';

/** Experience layer: the orders REST API. Talks to the rest of the system only through the outbox. */
@Module({
  imports: [OrderStoreModule],
  controllers: [OrdersController],
  providers: [OrdersService, OrderReadsService, IdempotencyKeyPrunerService],
})
export class OrdersModule {}
