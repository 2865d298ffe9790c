import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Lets a message wait in the outbox until a given time. The simulated system modules use it to
 * answer after their configured latency without holding a consumer (docs/architecture.md §2: latency costs each
 * order time, never the system throughput).
 */
export class OutboxAvailableAt1763780400000 implements MigrationInterface {
  name = 'OutboxAvailableAt1763780400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE outbox ADD COLUMN available_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)');
    await q.query('ALTER TABLE outbox ADD KEY ix_outbox_available (available_at)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE outbox DROP KEY ix_outbox_available');
    await q.query('ALTER TABLE outbox DROP COLUMN available_at');
  }
}
