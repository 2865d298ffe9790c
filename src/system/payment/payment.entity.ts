import { Column, Entity, PrimaryColumn } from 'typeorm';
import { decimalTransformer } from '../common/decimal.transformer.js';

export const PAYMENT_STATUSES = ['CHARGED', 'DECLINED', 'REFUNDED'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

/** The one charge of an order (`order_id` is unique): charged, declined, or refunded later. */
@Entity({ name: 'payments' })
export class PaymentEntity {
  @PrimaryColumn({ type: 'char', length: 36 }) id: string;
  @Column({ name: 'order_id', type: 'char', length: 36 }) orderId: string;
  @Column({ name: 'customer_id', type: 'varchar', length: 100 }) customerId: string;
  @Column({ type: 'decimal', precision: 14, scale: 2, transformer: decimalTransformer }) amount: number;
  @Column({ type: 'char', length: 3 }) currency: string;
  @Column({ type: 'varchar', length: 16 }) status: PaymentStatus;
  @Column({ name: 'refunded_amount', type: 'decimal', precision: 14, scale: 2, transformer: decimalTransformer }) refundedAmount: number;
  @Column({ name: 'created_at', type: 'datetime', precision: 3 }) createdAt: Date;
  @Column({ name: 'updated_at', type: 'datetime', precision: 3 }) updatedAt: Date;
}
