import { sqlMigration, TABLE_OPTIONS } from './migration.helpers.js';

/**
 * What the saga's fault paths need:
 * - `compensated_orders`: each system module's record that it compensated an order (released,
 *   refunded, cancelled), kept even when there was nothing to undo, so a forward command that arrives
 *   later (redelivery, DLQ replay, offset reset) is refused instead of taking effect for good.
 * - `saga_steps.sent_at`: when the current attempt's command was staged, by the database's clock, so a
 *   step's wait for delivery is bounded without trusting any replica's clock.
 * - `dead_lettered_messages`: which commands a group gave up on, so the saga stops waiting for their
 *   delivery and lets the step's deadline run.
 */

const COMPENSATED_ORDERS = `CREATE TABLE compensated_orders (
      system_module VARCHAR(16) NOT NULL,
      order_id CHAR(36) NOT NULL,
      compensated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (system_module, order_id)
    ) ${TABLE_OPTIONS}`;
const DEAD_LETTERED_MESSAGES = `CREATE TABLE dead_lettered_messages (
      consumer_group VARCHAR(100) NOT NULL,
      event_id CHAR(36) NOT NULL,
      dead_lettered_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (consumer_group, event_id),
      KEY ix_dead_lettered_at (dead_lettered_at)
    ) ${TABLE_OPTIONS}`;

export class SagaFaultPaths1765000000000 extends sqlMigration(
  'SagaFaultPaths1765000000000',
  [COMPENSATED_ORDERS, DEAD_LETTERED_MESSAGES, 'ALTER TABLE saga_steps ADD COLUMN sent_at DATETIME(3) NULL'],
  ['ALTER TABLE saga_steps DROP COLUMN sent_at', 'DROP TABLE IF EXISTS dead_lettered_messages', 'DROP TABLE IF EXISTS compensated_orders'],
) {}
