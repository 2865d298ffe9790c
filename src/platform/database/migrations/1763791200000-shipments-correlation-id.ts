import { sqlMigration } from './migration.helpers.js';

/**
 * Keeps the correlation id of the order on its shipment, so that the delivery scheduler's
 * `ShipmentStatusChanged {DELIVERED}` (sent long after the request) still carries it (docs/architecture.md §10).
 */
export class ShipmentsCorrelationId1763791200000 extends sqlMigration(
  'ShipmentsCorrelationId1763791200000',
  ['ALTER TABLE shipments ADD COLUMN correlation_id VARCHAR(200) NULL AFTER order_id'],
  ['ALTER TABLE shipments DROP COLUMN correlation_id'],
) {}
