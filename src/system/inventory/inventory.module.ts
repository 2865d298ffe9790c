import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { simulationConfig } from '../../config/simulation.config.js';
import { CatalogueController } from './catalogue.controller.js';
import { InventoryConsumer } from './inventory.consumer.js';
import { InventoryService } from './inventory.service.js';
import { InventorySimulator } from './inventory.simulator.js';
import { ProductEntity } from './product.entity.js';
import { StockReservationEntity } from './stock-reservation.entity.js';

/** System layer: the inventory system (catalogue, stock, reservations), consumer group `inventory`. */
@Module({
  imports: [ConfigModule.forFeature(simulationConfig), TypeOrmModule.forFeature([ProductEntity, StockReservationEntity])],
  controllers: [CatalogueController],
  providers: [InventoryConsumer, InventoryService, InventorySimulator],
  exports: [InventoryService, InventorySimulator],
})
export class InventoryModule {}
