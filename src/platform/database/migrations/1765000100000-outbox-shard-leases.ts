import { sqlMigration } from './migration.helpers.js';

/**
 * Turns the outbox shard lock rows into time-limited leases: which relay pass holds the shard and
 * until when, by the database's clock. A relay no longer keeps a transaction (and its row locks) open
 * while it waits for Kafka, so a replica that hangs or is cut off mid-pass holds its shards only until
 * the lease runs out, never until the database notices the dead connection.
 */
export class OutboxShardLeases1765000100000 extends sqlMigration(
  'OutboxShardLeases1765000100000',
  ['ALTER TABLE outbox_shards ADD COLUMN lease_owner VARCHAR(64) NULL, ADD COLUMN lease_until DATETIME(3) NULL'],
  ['ALTER TABLE outbox_shards DROP COLUMN lease_owner, DROP COLUMN lease_until'],
) {}
