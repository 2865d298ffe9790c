import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { decimalTransformer } from '../common/decimal.transformer.js';

export const RESERVATION_STATUSES = ['RESERVED', 'RELEASED', 'COMMITTED'] as const;
export type ReservationStatus = (typeof RESERVATION_STATUSES)[number];

/** One product line held for an order, priced from the catalogue when it was reserved. */
@Entity({ name: 'stock_reservations' })
export class StockReservationEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id: string;
  @Column({ name: 'order_id', type: 'char', length: 36 }) orderId: string;
  @Column({ name: 'product_id', type: 'varchar', length: 64 }) productId: string;
  @Column({ type: 'int' }) quantity: number;
  @Column({ name: 'unit_price', type: 'decimal', precision: 12, scale: 2, transformer: decimalTransformer }) unitPrice: number;
  @Column({ type: 'varchar', length: 16 }) status: ReservationStatus;
  @Column({ name: 'created_at', type: 'datetime', precision: 3 }) createdAt: Date;
  @Column({ name: 'updated_at', type: 'datetime', precision: 3 }) updatedAt: Date;
}
