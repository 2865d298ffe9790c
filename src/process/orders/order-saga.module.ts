import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { sagaConfig } from '../../config/saga.config.js';
import { OrderStoreModule } from '../../platform/order-store/order-store.module.js';
import { OrderSagaConsumer } from './order-saga.consumer.js';
import { OrderSagaService } from './order-saga.service.js';
import { SagaStepScheduler } from './saga-step.scheduler.js';

/** Process layer: the order saga through inventory, payment and shipping. */
@Module({
  imports: [ConfigModule.forFeature(sagaConfig), OrderStoreModule],
  controllers: [OrderSagaConsumer],
  providers: [OrderSagaService, SagaStepScheduler],
  exports: [OrderSagaService, SagaStepScheduler],
})
export class OrderSagaModule {}
