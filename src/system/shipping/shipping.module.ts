import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { simulationConfig } from '../../config/simulation.config.js';
import { DeliveryScheduler } from './delivery.scheduler.js';
import { ShipmentRepository } from './shipment.repository.js';
import { ShippingConsumer } from './shipping.consumer.js';
import { ShippingService } from './shipping.service.js';
import { ShippingSimulator } from './shipping.simulator.js';

/**
 * System layer: the shipping system (shipments, carriers, tracking, delivery), consumer group
 * `shipping`. The delivery scheduler lives here, so it runs only where this module runs.
 */
@Module({
  imports: [ConfigModule.forFeature(simulationConfig)],
  providers: [ShippingConsumer, ShipmentRepository, ShippingService, ShippingSimulator, DeliveryScheduler],
  exports: [ShippingService, ShippingSimulator, DeliveryScheduler],
})
export class ShippingModule {}
