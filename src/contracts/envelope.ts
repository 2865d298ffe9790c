import { newId } from './ids.js';
import { z } from 'zod';
import type { EventType, Payloads } from './messages.js';
import { guid, integer, isoDate, text } from './schema-kit.js';

export const HEADER_CORRELATION_ID = 'x-correlation-id';
export const HEADER_EVENT_TYPE = 'x-event-type';

/**
 * The envelope every message on every topic carries (docs/architecture.md §5). Its payload is checked
 * here only as an object: the event type's own schema (`payloadSchemas`) checks it next.
 */
export const envelopeSchema = z.strictObject({
  eventId: guid('47'), // time-ordered (version 7) ids; earlier releases wrote version 4
  eventType: text.max(100),
  occurredAt: isoDate,
  orderId: guid(),
  correlationId: text.max(200),
  causationId: text.max(200).optional(),
  schemaVersion: integer(1),
  payload: z.record(z.string(), z.unknown()),
});

/** An envelope as validated: its payload is typed once its event type's schema has checked it. */
export type Envelope<TType extends string = string, TPayload = unknown> = Omit<z.output<typeof envelopeSchema>, 'eventType' | 'payload'> & {
  eventType: TType;
  payload: TPayload;
};

/** A new envelope for `eventType`, whose payload must be of that event's type. */
export function newEnvelope<TType extends EventType>(
  eventType: TType,
  orderId: string,
  payload: Payloads[TType],
  trace: { correlationId: string; causationId?: string },
  at: Date = new Date(),
): Envelope<TType, Payloads[TType]> {
  return {
    eventId: newId(),
    eventType,
    occurredAt: at.toISOString(),
    orderId,
    correlationId: trace.correlationId,
    ...(trace.causationId ? { causationId: trace.causationId } : {}),
    schemaVersion: 1,
    payload,
  };
}
