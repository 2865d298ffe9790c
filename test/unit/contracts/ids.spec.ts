import { jest } from '@jest/globals';
import { newId } from '../../../src/contracts/ids.js';
import { envelopeSchema } from '../../../src/contracts/envelope.js';

describe('newId', () => {
  it('makes version 7 UUIDs whose first 48 bits are the time of creation', () => {
    const before = Date.now();
    const id = newId();
    const after = Date.now();
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const ms = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(after);
  });

  it('sorts ids in the order they were made, many within one millisecond included', () => {
    const ids = Array.from({ length: 20000 }, () => newId());
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('keeps counting up on the last millisecond when the clock steps back', () => {
    const first = newId();
    const now = jest.spyOn(Date, 'now').mockReturnValue(parseInt(first.replace(/-/g, '').slice(0, 12), 16) - 5000);
    try {
      const later = Array.from({ length: 300 }, () => newId());
      expect(later.every((id) => id.slice(0, 13) === first.slice(0, 13))).toBe(true);
      expect([first, ...later].sort()).toEqual([first, ...later]);
    } finally {
      now.mockRestore();
    }
  });

  it('draws fresh random bits for each id: ids of different milliseconds share no random tail', () => {
    const tails = new Set<string>();
    for (let i = 0; i < 1000; i++) tails.add(newId().slice(-12));
    expect(tails.size).toBe(1000);
  });

  it('the envelope takes both the new ids and the version 4 ids of earlier releases', () => {
    const envelope = (eventId: string) => ({
      eventId,
      eventType: 'OrderCreated',
      occurredAt: new Date().toISOString(),
      orderId: newId(),
      correlationId: 'c-1',
      schemaVersion: 1,
      payload: {},
    });
    expect(envelopeSchema.safeParse(envelope(newId())).success).toBe(true);
    expect(envelopeSchema.safeParse(envelope('5b0c1d3e-8f61-4b7a-9d0e-2f4a6c8e1b3d')).success).toBe(true);
    expect(envelopeSchema.safeParse(envelope('not-an-id')).success).toBe(false);
  });
});
