import { z } from 'zod';
import { isoDate, text } from './schema-kit.js';

/**
 * Why a consumer gave up on a message, as its dead letter says (`reason`):
 * - `INVALID_MESSAGE`: not JSON, or its envelope or payload fails the schema of its type;
 * - `UNEXPECTED_EVENT_TYPE`: a type this consumer group does not read on that topic;
 * - `UNSUPPORTED_SCHEMA_VERSION`: a major `schemaVersion` this consumer does not know (docs/events.md);
 * - `PROCESSING_FAILED`: valid, but its handler refused it or kept failing (see `attempts`).
 */
export const DEAD_LETTER_REASONS = ['INVALID_MESSAGE', 'UNEXPECTED_EVENT_TYPE', 'UNSUPPORTED_SCHEMA_VERSION', 'PROCESSING_FAILED'] as const;
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

/** What a consumer writes to the DLQ topic when it gives up on a message (docs/architecture.md §7.3): the value of a dead letter. */
export const deadLetterSchema = z.object({
  originTopic: text.meta({ description: 'The topic the message was read from' }),
  partition: z.int().min(0),
  offset: text.meta({ description: 'Offset in the origin topic (a string: Kafka offsets are 64-bit)' }),
  consumerGroup: text.meta({ description: 'The consumer group that gave up' }),
  reason: z.enum(DEAD_LETTER_REASONS).optional().meta({ description: 'Why (absent in letters written before reasons were recorded)' }),
  error: z.string().meta({ description: 'What went wrong, for people' }),
  attempts: z.int().min(1),
  failedAt: isoDate,
  key: z.string().nullable().meta({ description: 'The original message key (the order id)' }),
  headers: z.record(z.string(), z.string()).meta({ description: 'The original message headers' }),
  value: z.string().nullable().meta({ description: 'The original message value, as sent (JSON text); null for a tombstone' }),
});
export type DeadLetter = z.output<typeof deadLetterSchema>;

/** The type a dead letter carries in its `x-event-type` header. */
export const DEAD_LETTER_EVENT_TYPE = 'DeadLetter';
