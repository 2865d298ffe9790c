import Joi from 'joi';
import { randomUUID } from 'node:crypto';

/** The envelope every message on every topic carries (docs/architecture.md §5). */
export interface Envelope<TType extends string = string, TPayload = unknown> {
  eventId: string;
  eventType: TType;
  occurredAt: string;
  orderId: string;
  correlationId: string;
  causationId?: string;
  schemaVersion: number;
  payload: TPayload;
}

export const HEADER_CORRELATION_ID = 'x-correlation-id';
export const HEADER_EVENT_TYPE = 'x-event-type';

export const envelopeSchema = Joi.object({
  eventId: Joi.string().guid({ version: 'uuidv4' }).required(),
  eventType: Joi.string().max(100).required(),
  occurredAt: Joi.string().isoDate().required(),
  orderId: Joi.string().guid().required(),
  correlationId: Joi.string().max(200).required(),
  causationId: Joi.string().max(200).optional(),
  schemaVersion: Joi.number().integer().min(1).required(),
  payload: Joi.object().required(),
});

export function newEnvelope<TType extends string, TPayload>(
  eventType: TType,
  orderId: string,
  payload: TPayload,
  trace: { correlationId: string; causationId?: string },
  at: Date = new Date(),
): Envelope<TType, TPayload> {
  return {
    eventId: randomUUID(),
    eventType,
    occurredAt: at.toISOString(),
    orderId,
    correlationId: trace.correlationId,
    ...(trace.causationId ? { causationId: trace.causationId } : {}),
    schemaVersion: 1,
    payload,
  };
}
