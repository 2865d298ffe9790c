import { sqlMigration } from './migration.helpers.js';

/**
 * Lets the relay set aside a message the broker refuses for what it is (too large, invalid record or
 * topic name), with the broker's answer, instead of retrying it forever in front of every other
 * message of its shard. Parked rows stay in the outbox for an operator to fix and release.
 */
export class OutboxParked1764590400000 extends sqlMigration(
  'OutboxParked1764590400000',
  ['ALTER TABLE outbox ADD COLUMN parked_at DATETIME(3) NULL, ADD COLUMN last_error VARCHAR(1000) NULL'],
  ['ALTER TABLE outbox DROP COLUMN parked_at, DROP COLUMN last_error'],
) {}
