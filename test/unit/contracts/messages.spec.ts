import { envelopeSchema, newEnvelope } from '../../../src/contracts/envelope.js';
import { isEventType, payloadSchemas } from '../../../src/contracts/messages.js';
import { ENVELOPE_CASES, PAYLOAD_CASES } from './cases.js';

/**
 * What the contract accepted when it was kept in Joi, case by case (cases.ts): the zod schemas keep it,
 * but for the cases with fields the schema does not know (payload 2, 29 and 53, envelope 2), accepted
 * since versioning allows them (docs/events.md).
 */
// prettier-ignore
const PAYLOAD_ACCEPTED = [true,true,true,false,false,false,false,false,false,true,false,false,true,true,false,false,true,true,false,false,false,true,false,true,false,true,true,false,true,true,true,true,true,false,true,true,true,false,true,false,true,true,true,true,false,true,true,true,false,true,false,true,true,true,false,false,true,true,false,false];
// prettier-ignore
const ENVELOPE_ACCEPTED = [true,true,true,false,true,false,true,false,true,false,true,false,false,false,false,true,false,false];

describe('payloadSchemas', () => {
  it.each(PAYLOAD_CASES.map(([type, value], i) => [i, type, value, PAYLOAD_ACCEPTED[i]] as const))('case %i (%s) accepted: %p', (_i, type, value, accepted) => {
    expect(payloadSchemas[type].safeParse(value).success).toBe(accepted);
  });

  it('converts as it validates: numbers and booleans from strings, money to cents, currency upper-cased, dates to ISO', () => {
    expect(payloadSchemas.OrderValidated.parse({ items: [{ productId: 'x', quantity: '2', unitPrice: 1.006 }], total: '19.987', currency: 'eur', paymentId: 'p' })).toEqual({
      items: [{ productId: 'x', quantity: 2, unitPrice: 1.01 }],
      total: 19.99,
      currency: 'EUR',
      paymentId: 'p',
    });
    expect(payloadSchemas.StockReservationRejected.parse({ reason: 'OUT_OF_STOCK', transient: 'TRUE' }).transient).toBe(true);
    expect(payloadSchemas.OrderStatusChanged.parse({ from: null, to: 'RECEIVED', at: '2026-12-07T10:00:00+01' }).at).toBe('2026-12-07T09:00:00.000Z');
  });

  it("takes dates already in toISOString()'s form as they are, and any other through the full ISO 8601 check", () => {
    const at = (value: string) => payloadSchemas.OrderStatusChanged.safeParse({ from: null, to: 'RECEIVED', at: value });
    expect(at('2026-12-07T10:00:00.123Z').data?.at).toBe('2026-12-07T10:00:00.123Z');
    expect(at('2024-02-29T23:59:59.999Z').data?.at).toBe('2024-02-29T23:59:59.999Z');
    // Same form, but not a date that exists: normalised as the full check always did, or refused.
    expect(at('2026-02-30T00:00:00.000Z').data?.at).toBe('2026-03-02T00:00:00.000Z');
    expect(at('2026-13-01T00:00:00.000Z').success).toBe(false);
    expect(at('2026-12-07T24:00:00.000Z').success).toBe(false);
    expect(at('2026-12-07T10:00:00.000z').success).toBe(false);
  });

  it('knows exactly the event types it has a schema for', () => {
    expect(isEventType('OrderCreated')).toBe(true);
    expect(isEventType('toString')).toBe(false);
    expect(isEventType('OrderDeleted')).toBe(false);
  });
});

describe('envelopeSchema', () => {
  it.each(ENVELOPE_CASES.map((value, i) => [i, value, ENVELOPE_ACCEPTED[i]] as const))('case %i accepted: %p', (_i, value, accepted) => {
    expect(envelopeSchema.safeParse(value).success).toBe(accepted);
  });

  it('accepts what newEnvelope builds, unchanged', () => {
    const envelope = newEnvelope('ReleaseStock', '5b0c2a4e-6f1d-4c8a-9e2b-3d4f5a6b7c8d', { reason: 'cancelled' }, { correlationId: 'c', causationId: 'e' });
    expect(envelopeSchema.parse(envelope)).toEqual(envelope);
    expect(payloadSchemas[envelope.eventType].parse(envelope.payload)).toEqual({ reason: 'cancelled' });
  });
});
