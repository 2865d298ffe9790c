import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { OrderStatus } from '../../contracts/order-status.js';

@Entity({ name: 'order_status_history' })
export class OrderStatusHistoryEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id: string;
  @Column({ name: 'order_id', type: 'char', length: 36 }) orderId: string;
  @Column({ name: 'from_status', type: 'varchar', length: 32, nullable: true }) fromStatus: OrderStatus | null;
  @Column({ name: 'to_status', type: 'varchar', length: 32 }) toStatus: OrderStatus;
  @Column({ type: 'varchar', length: 64, nullable: true }) reason: string | null;
  @Column({ name: 'occurred_at', type: 'datetime', precision: 3 }) occurredAt: Date;
}
