import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { simulationConfig } from '../../config/simulation.config.js';
import { CatalogueController } from './catalogue.controller.js';
import { InventoryConsumer } from './inventory.consumer.js';
import { InventoryRepository } from './inventory.repository.js';
import { InventoryService } from './inventory.service.js';
import { InventorySimulator } from './inventory.simulator.js';

/** System layer: the inventory system (catalogue, stock, reservations), consumer group `inventory`. */
@Module({
  imports: [ConfigModule.forFeature(simulationConfig)],
  controllers: [CatalogueController],
  providers: [InventoryConsumer, InventoryRepository, InventoryService, InventorySimulator],
  exports: [InventoryService, InventorySimulator],
})
export class InventoryModule {}
