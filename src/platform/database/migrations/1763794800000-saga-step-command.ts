import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Remembers which command a saga step is waiting on, so a late transient rejection of an earlier
 * attempt cannot schedule a second retry next to the attempt already in flight.
 */
export class SagaStepCommand1763794800000 implements MigrationInterface {
  name = 'SagaStepCommand1763794800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE saga_steps ADD COLUMN command_event_id CHAR(36) NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE saga_steps DROP COLUMN command_event_id');
  }
}
