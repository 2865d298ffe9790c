import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { OrderStatus, ShipmentStatus } from '../../contracts/order-status.js';

/** DECIMAL columns arrive as strings from some drivers; keep money as numbers in the app. */
export const decimal = { to: (v: number | null) => v, from: (v: string | number | null) => (v === null ? null : Number(v)) };

@Entity({ name: 'orders' })
export class OrderEntity {
  @PrimaryColumn({ type: 'char', length: 36 }) id: string;
  @Column({ name: 'customer_id', type: 'char', length: 36 }) customerId: string;
  @Column({ type: 'varchar', length: 32 }) status: OrderStatus;
  @Column({ name: 'status_reason', type: 'varchar', length: 64, nullable: true }) statusReason: string | null;
  @Column({ type: 'int' }) version: number;
  @Column({ type: 'decimal', precision: 14, scale: 2, nullable: true, transformer: decimal }) total: number | null;
  @Column({ type: 'char', length: 3 }) currency: string;
  @Column({ name: 'ship_line1', type: 'varchar', length: 200 }) shipLine1: string;
  @Column({ name: 'ship_line2', type: 'varchar', length: 200, nullable: true }) shipLine2: string | null;
  @Column({ name: 'ship_city', type: 'varchar', length: 100 }) shipCity: string;
  @Column({ name: 'ship_postal_code', type: 'varchar', length: 20 }) shipPostalCode: string;
  @Column({ name: 'ship_country', type: 'char', length: 2 }) shipCountry: string;
  @Column({ name: 'correlation_id', type: 'varchar', length: 200 }) correlationId: string;
  @Column({ name: 'payment_id', type: 'varchar', length: 64, nullable: true }) paymentId: string | null;
  @Column({ name: 'shipment_id', type: 'varchar', length: 64, nullable: true }) shipmentId: string | null;
  @Column({ type: 'varchar', length: 64, nullable: true }) carrier: string | null;
  @Column({ name: 'tracking_number', type: 'varchar', length: 64, nullable: true }) trackingNumber: string | null;
  @Column({ name: 'estimated_delivery', type: 'datetime', precision: 3, nullable: true }) estimatedDelivery: Date | null;
  @Column({ name: 'shipment_status', type: 'varchar', length: 16, nullable: true }) shipmentStatus: ShipmentStatus | null;
  @Column({ name: 'created_at', type: 'datetime', precision: 3 }) createdAt: Date;
  @Column({ name: 'updated_at', type: 'datetime', precision: 3 }) updatedAt: Date;
}
