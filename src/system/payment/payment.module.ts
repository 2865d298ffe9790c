import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { simulationConfig } from '../../config/simulation.config.js';
import { PaymentConsumer } from './payment.consumer.js';
import { PaymentRepository } from './payment.repository.js';
import { PaymentService } from './payment.service.js';
import { PaymentSimulator } from './payment.simulator.js';

/** System layer: the payment system (charges and refunds), consumer group `payment`. */
@Module({
  imports: [ConfigModule.forFeature(simulationConfig)],
  providers: [PaymentConsumer, PaymentRepository, PaymentService, PaymentSimulator],
  exports: [PaymentService, PaymentSimulator],
})
export class PaymentModule {}
