import { sqlMigration } from './migration.helpers.js';

/**
 * Lets a message wait in the outbox until a given time. The simulated system modules use it to
 * answer after their configured latency without holding a consumer (docs/architecture.md §2: latency costs each
 * order time, never the system throughput).
 */
export class OutboxAvailableAt1763780400000 extends sqlMigration(
  'OutboxAvailableAt1763780400000',
  ['ALTER TABLE outbox ADD COLUMN available_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)', 'ALTER TABLE outbox ADD KEY ix_outbox_available (available_at)'],
  ['ALTER TABLE outbox DROP KEY ix_outbox_available', 'ALTER TABLE outbox DROP COLUMN available_at'],
) {}
