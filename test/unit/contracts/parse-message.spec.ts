import { newEnvelope } from '../../../src/contracts/envelope.js';
import { SCHEMA_VERSIONS } from '../../../src/contracts/messages.js';
import { ContractViolation, parseMessage } from '../../../src/contracts/parse-message.js';

const ORDER = '5b0c2a4e-6f1d-4c8a-9e2b-3d4f5a6b7c8d';
const address = { line1: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' };
const shipmentRequested = () =>
  newEnvelope('ShipmentRequested', ORDER, { shippingAddress: address, items: [{ productId: 'SKU-1', quantity: 2 }], attempt: 1 }, { correlationId: 'c-1' });
const ACCEPTS = ['ShipmentRequested', 'CancelShipment'] as const;

/** The reason the message is refused for, or 'accepted'. */
function verdict(value: unknown): string {
  try {
    parseMessage(value, ACCEPTS);
    return 'accepted';
  } catch (err) {
    if (err instanceof ContractViolation) return err.reason;
    throw err;
  }
}

describe('parseMessage', () => {
  it('reads what newEnvelope writes, from a Buffer, a string or an object, stamped with its type’s major version', () => {
    const envelope = shipmentRequested();
    expect(envelope.schemaVersion).toBe(SCHEMA_VERSIONS.ShipmentRequested);
    for (const value of [Buffer.from(JSON.stringify(envelope)), JSON.stringify(envelope), envelope]) expect(parseMessage(value, ACCEPTS)).toEqual(envelope);
  });

  it('accepts fields it does not know, in the envelope and the payload at any depth, and drops them', () => {
    const envelope = shipmentRequested();
    const extended = {
      ...envelope,
      producedBy: 'order-flow 2.3',
      payload: { ...envelope.payload, priority: 'express', shippingAddress: { ...address, geo: { lat: 1, lon: 2 } }, items: [{ productId: 'SKU-1', quantity: 2, giftWrap: true }] },
    };
    expect(parseMessage(JSON.stringify(extended), ACCEPTS)).toEqual(envelope);
  });

  it('refuses an unknown major version as UNSUPPORTED_SCHEMA_VERSION, whatever shape the rest has', () => {
    const envelope = shipmentRequested();
    expect(verdict({ ...envelope, schemaVersion: 99 })).toBe('UNSUPPORTED_SCHEMA_VERSION');
    expect(verdict({ ...envelope, schemaVersion: '2' })).toBe('UNSUPPORTED_SCHEMA_VERSION');
    // A later major may rename or retype anything: the version is judged first.
    expect(verdict({ eventType: 'ShipmentRequested', schemaVersion: 2, id: 'x', body: {} })).toBe('UNSUPPORTED_SCHEMA_VERSION');
    expect(() => parseMessage({ ...envelope, schemaVersion: 99 }, ACCEPTS)).toThrow('unsupported schemaVersion 99 of ShipmentRequested (this consumer reads major 1)');
    expect(verdict({ ...envelope, schemaVersion: '1' })).toBe('accepted');
  });

  it('still refuses wrong types and missing fields as INVALID_MESSAGE', () => {
    const envelope = shipmentRequested();
    const { payload } = envelope;
    expect(verdict('{not json')).toBe('INVALID_MESSAGE');
    expect(verdict({ ...envelope, payload: { ...payload, attempt: 'first' } })).toBe('INVALID_MESSAGE');
    expect(verdict({ ...envelope, payload: { ...payload, items: [{ productId: 'SKU-1', quantity: 'two' }] } })).toBe('INVALID_MESSAGE');
    expect(verdict({ ...envelope, payload: { ...payload, shippingAddress: undefined } })).toBe('INVALID_MESSAGE');
    expect(verdict({ ...envelope, orderId: 42 })).toBe('INVALID_MESSAGE');
    expect(verdict({ ...envelope, correlationId: undefined })).toBe('INVALID_MESSAGE');
    expect(verdict({ ...envelope, schemaVersion: undefined })).toBe('INVALID_MESSAGE');
    expect(verdict({ ...envelope, schemaVersion: 0 })).toBe('INVALID_MESSAGE');
    expect(verdict({ ...envelope, schemaVersion: 1.5 })).toBe('INVALID_MESSAGE');
  });

  it('refuses a type this consumer does not read on the topic as UNEXPECTED_EVENT_TYPE', () => {
    const status = newEnvelope('OrderStatusChanged', ORDER, { from: null, to: 'RECEIVED', at: '2026-12-07T10:00:00.000Z' }, { correlationId: 'c' });
    expect(verdict(status)).toBe('UNEXPECTED_EVENT_TYPE');
    expect(verdict({ ...shipmentRequested(), eventType: 'ShipmentTeleported' })).toBe('UNEXPECTED_EVENT_TYPE');
  });
});
