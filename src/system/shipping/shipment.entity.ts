import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ShipmentStatus } from '../../contracts/order-status.js';

/** One order's shipment (`order_id` is unique): carrier, tracking number, and when it is delivered. */
@Entity({ name: 'shipments' })
export class ShipmentEntity {
  @PrimaryColumn({ type: 'char', length: 36 }) id: string;
  @Column({ name: 'order_id', type: 'char', length: 36 }) orderId: string;
  @Column({ name: 'correlation_id', type: 'varchar', length: 200, nullable: true }) correlationId: string | null;
  @Column({ type: 'varchar', length: 64 }) carrier: string;
  @Column({ name: 'tracking_number', type: 'varchar', length: 64 }) trackingNumber: string;
  @Column({ type: 'varchar', length: 16 }) status: ShipmentStatus;
  @Column({ name: 'estimated_delivery', type: 'datetime', precision: 3 }) estimatedDelivery: Date;
  /** When the delivery scheduler marks it DELIVERED. */
  @Column({ name: 'deliver_after', type: 'datetime', precision: 3, nullable: true }) deliverAfter: Date | null;
  @Column({ name: 'created_at', type: 'datetime', precision: 3 }) createdAt: Date;
  @Column({ name: 'updated_at', type: 'datetime', precision: 3 }) updatedAt: Date;
}
