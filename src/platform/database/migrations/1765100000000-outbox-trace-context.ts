import { sqlMigration } from './migration.helpers.js';

/**
 * The W3C trace context each outbox message was produced in, which the relay sends as the message's
 * `traceparent` and `tracestate` headers (docs/adr/0006-trace-propagation-through-the-outbox.md).
 * Null when tracing is off. A `traceparent` is 55 characters; a `tracestate` at most 32 entries of
 * at most 256 each, of which vendors keep far fewer: 512 is kept, a longer one is not stored.
 * Adding nullable columns is instant in MariaDB 10.3+ and MySQL 8 (no table rebuild).
 */
export class OutboxTraceContext1765100000000 extends sqlMigration(
  'OutboxTraceContext1765100000000',
  ['ALTER TABLE outbox ADD COLUMN traceparent VARCHAR(55) NULL, ADD COLUMN tracestate VARCHAR(512) NULL'],
  ['ALTER TABLE outbox DROP COLUMN traceparent, DROP COLUMN tracestate'],
) {}
