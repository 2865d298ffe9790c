import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { decimal } from './order.entity.js';

@Entity({ name: 'order_items' })
export class OrderItemEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id: string;
  @Column({ name: 'order_id', type: 'char', length: 36 }) orderId: string;
  @Column({ name: 'line_no', type: 'int' }) lineNo: number;
  @Column({ name: 'product_id', type: 'varchar', length: 64 }) productId: string;
  @Column({ type: 'int' }) quantity: number;
  @Column({ name: 'unit_price', type: 'decimal', precision: 12, scale: 2, nullable: true, transformer: decimal }) unitPrice: number | null;
}
