import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { kafkaConfig } from '../../config/kafka.config.js';
import { outboxConfig } from '../../config/outbox.config.js';
import { sagaConfig } from '../../config/saga.config.js';
import { OrderStoreModule } from '../../order-store/order-store.module.js';
import { OrderSagaConsumer } from './order-saga.consumer.js';
import { OrderSagaService } from './order-saga.service.js';
import { SagaAdminController } from './saga-admin.controller.js';
import { SagaStepRepository } from './saga-step.repository.js';
import { SagaStepScheduler } from './saga-step.scheduler.js';
import { StepDeadlineGate } from './step-deadline.gate.js';

/** Process layer: the order saga through inventory, payment and shipping. */
@Module({
  imports: [ConfigModule.forFeature(sagaConfig), ConfigModule.forFeature(kafkaConfig), ConfigModule.forFeature(outboxConfig), OrderStoreModule],
  controllers: [SagaAdminController],
  providers: [OrderSagaConsumer, OrderSagaService, SagaStepRepository, SagaStepScheduler, StepDeadlineGate],
  exports: [OrderSagaService, SagaStepScheduler],
})
export class OrderSagaModule {}
