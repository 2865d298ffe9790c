import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Keeps the correlation id of the order on its shipment, so that the delivery scheduler's
 * `ShipmentStatusChanged {DELIVERED}` (sent long after the request) still carries it (docs/architecture.md §10).
 */
export class ShipmentsCorrelationId1763791200000 implements MigrationInterface {
  name = 'ShipmentsCorrelationId1763791200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE shipments ADD COLUMN correlation_id VARCHAR(200) NULL AFTER order_id');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE shipments DROP COLUMN correlation_id');
  }
}
