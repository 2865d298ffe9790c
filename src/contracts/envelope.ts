import { newId } from './ids.js';
import { z } from 'zod';
import { SCHEMA_VERSIONS, type EventType, type Payloads } from './messages.js';
import { guid, integer, isoDate, text } from './schema-kit.js';

export const HEADER_CORRELATION_ID = 'x-correlation-id';
export const HEADER_EVENT_TYPE = 'x-event-type';
/** The W3C Trace Context of the message's producer; optional (a message without one starts a new trace). */
export const HEADER_TRACEPARENT = 'traceparent';

/**
 * The envelope every message on every topic carries (docs/architecture.md §5). Its payload is checked
 * here only as an object: the event type's own schema (`payloadSchemas`) checks it next. Keys it does not
 * know are dropped, like the payload's (docs/events.md).
 */
export const envelopeSchema = z.object({
  eventId: guid('47').meta({ description: 'Unique per message; time-ordered (UUID version 7), earlier releases wrote version 4' }),
  eventType: text.max(100),
  occurredAt: isoDate,
  orderId: guid().meta({ description: 'The order the message is about; also the message key' }),
  correlationId: text.max(200).meta({ description: 'Follows an order from its HTTP request through every message it causes' }),
  causationId: text.max(200).optional().meta({ description: 'The eventId of the message that caused this one' }),
  schemaVersion: integer(1).meta({ description: 'The major version of this message type (docs/events.md)' }),
  payload: z.record(z.string(), z.unknown()),
});

/**
 * The Kafka headers of every message. Consumers read the envelope, not these: they are for tools that
 * route or trace without parsing the value.
 */
export const headersSchema = z.object({
  [HEADER_CORRELATION_ID]: text.meta({ description: 'The envelope’s correlationId' }),
  [HEADER_EVENT_TYPE]: text.meta({ description: 'The envelope’s eventType' }),
  [HEADER_TRACEPARENT]: z
    .string()
    .regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/)
    .optional()
    .meta({ description: 'W3C Trace Context of the producer (https://www.w3.org/TR/trace-context/); optional' }),
});

/** An envelope as validated: its payload is typed once its event type's schema has checked it. */
export type Envelope<TType extends string = string, TPayload = unknown> = Omit<z.output<typeof envelopeSchema>, 'eventType' | 'payload'> & {
  eventType: TType;
  payload: TPayload;
};

/** An envelope whose payload is of its event type's shape. */
export type TypedEnvelope<T extends EventType = EventType> = { [K in T]: Envelope<K, Payloads[K]> }[T];

/** A new envelope for `eventType`, whose payload must be of that event's type, stamped with that type's major version. */
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
    schemaVersion: SCHEMA_VERSIONS[eventType],
    payload,
  };
}
