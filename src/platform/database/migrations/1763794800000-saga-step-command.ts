import { sqlMigration } from './migration.helpers.js';

/**
 * Remembers which command a saga step is waiting on, so a late transient rejection of an earlier
 * attempt cannot schedule a second retry next to the attempt already in flight.
 */
export class SagaStepCommand1763794800000 extends sqlMigration(
  'SagaStepCommand1763794800000',
  ['ALTER TABLE saga_steps ADD COLUMN command_event_id CHAR(36) NULL'],
  ['ALTER TABLE saga_steps DROP COLUMN command_event_id'],
) {}
