import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'customers' })
export class CustomerEntity {
  @PrimaryColumn({ type: 'char', length: 36 }) id: string;
  @Column({ name: 'customer_key', type: 'varchar', length: 320 }) customerKey: string;
  @Column({ name: 'external_id', type: 'varchar', length: 100, nullable: true }) externalId: string | null;
  @Column({ type: 'varchar', length: 200 }) name: string;
  @Column({ type: 'varchar', length: 320 }) email: string;
  @Column({ type: 'varchar', length: 40, nullable: true }) phone: string | null;
}
