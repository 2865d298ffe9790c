import { Column, Entity, PrimaryColumn } from 'typeorm';

const decimal = { to: (v: number) => v, from: (v: string | number) => Number(v) };

/** The inventory system's catalogue and stock: on hand, and reserved for orders in flight. */
@Entity({ name: 'products' })
export class ProductEntity {
  @PrimaryColumn({ name: 'product_id', type: 'varchar', length: 64 }) productId: string;
  @Column({ type: 'varchar', length: 200 }) name: string;
  @Column({ name: 'unit_price', type: 'decimal', precision: 12, scale: 2, transformer: decimal }) unitPrice: number;
  @Column({ type: 'char', length: 3 }) currency: string;
  @Column({ name: 'stock_on_hand', type: 'int' }) stockOnHand: number;
  @Column({ name: 'stock_reserved', type: 'int' }) stockReserved: number;
}
