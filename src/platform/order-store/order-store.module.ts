import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CustomerEntity } from './customer.entity.js';
import { OrderItemEntity } from './order-item.entity.js';
import { OrderStatusHistoryEntity } from './order-status-history.entity.js';
import { OrderEntity } from './order.entity.js';
import { OrderStoreService } from './order-store.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([OrderEntity, OrderItemEntity, OrderStatusHistoryEntity, CustomerEntity])],
  providers: [OrderStoreService],
  exports: [OrderStoreService],
})
export class OrderStoreModule {}
