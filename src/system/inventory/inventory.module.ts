import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CatalogueController } from './catalogue.controller.js';
import { ProductEntity } from './product.entity.js';

/** System layer: the inventory system (catalogue, stock, reservations). */
@Module({
  imports: [TypeOrmModule.forFeature([ProductEntity])],
  controllers: [CatalogueController],
})
export class InventoryModule {}
