import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { orderEventsConfig } from '../../config/order-events.config.js';
import { OrderStoreModule } from '../../order-store/order-store.module.js';
import { OrderChangeNotifier } from './events/order-change.notifier.js';
import { OrderStreamsService } from './events/order-streams.service.js';
import { IdempotencyKeyPrunerService } from './idempotency-key-pruner.service.js';
import { OrderReadsService } from './order-reads.service.js';
import { OrdersController } from './orders.controller.js';
import { OrdersService } from './orders.service.js';

/** Experience layer: the orders REST API and its live status streams. Talks to the rest of the system only through the outbox. */
@Module({
  imports: [OrderStoreModule, ConfigModule.forFeature(orderEventsConfig)],
  controllers: [OrdersController],
  providers: [OrdersService, OrderReadsService, IdempotencyKeyPrunerService, OrderStreamsService, OrderChangeNotifier],
})
export class OrdersModule {}
