import 'reflect-metadata';
import { resolveSimulation, type SimulationSettings } from '../../../src/config/simulation.config.js';
import { decideInventory, InventorySimulator } from '../../../src/system/inventory/inventory.simulator.js';
import { decidePayment, PaymentSimulator } from '../../../src/system/payment/payment.simulator.js';
import type { Random } from '../../../src/system/common/seeded-random.js';
import { CARRIERS, decideShipping, newTrackingNumber, ShippingSimulator, TRACKING_NUMBER_PATTERN } from '../../../src/system/shipping/shipping.simulator.js';

/** A strict double: returns the scripted rolls in order and fails on any roll beyond them. */
function scripted(...rolls: number[]): Random {
  const queue = [...rolls];
  const next = () => {
    if (!queue.length) throw new Error('unexpected extra roll');
    return queue.shift()!;
  };
  return { next, int: (min, max) => min + Math.floor(next() * (max - min + 1)), pick: (items) => items[Math.floor(next() * items.length)] };
}

const latency = { minMs: 100, maxMs: 200 };

describe('inventory decision', () => {
  const b = { failureRate: 0.3, latency };
  it('fails transiently below the rate, answers otherwise, with a latency in range', () => {
    expect(decideInventory(b, scripted(0.29, 0))).toEqual({ outcome: 'unavailable', delayMs: 100 });
    expect(decideInventory(b, scripted(0.3, 0.999))).toEqual({ outcome: 'available', delayMs: 200 });
  });
  it('never fails at rate 0 and always fails at rate 1', () => {
    expect(decideInventory({ ...b, failureRate: 0 }, scripted(0, 0.5)).outcome).toBe('available');
    expect(decideInventory({ ...b, failureRate: 1 }, scripted(0.9999, 0.5)).outcome).toBe('unavailable');
  });
});

describe('payment decision', () => {
  const b = { declineRate: 0.15, transientRate: 0.2, noAnswerRate: 0.05, faultRate: 0, latency };
  it.each([
    [0, 'decline'],
    [0.1499, 'decline'],
    [0.15, 'unavailable'],
    [0.3499, 'unavailable'],
    [0.35, 'noAnswer'],
    [0.3999, 'noAnswer'],
    [0.4, 'charge'],
    [0.9999, 'charge'],
  ])('roll %d → %s', (roll, outcome) => {
    expect(decidePayment(b, scripted(roll, 0.5)).outcome).toBe(outcome);
  });
  it('draws the latency from the range', () => {
    expect(decidePayment(b, scripted(0.9, 0.5)).delayMs).toBe(150);
  });
  it('fails unexpectedly (a fault, not an answer) on the share after no answer', () => {
    const faulty = { ...b, faultRate: 0.1 };
    expect(decidePayment(faulty, scripted(0.4, 0.5)).outcome).toBe('fault');
    expect(decidePayment(faulty, scripted(0.4999, 0.5)).outcome).toBe('fault');
    expect(decidePayment(faulty, scripted(0.5, 0.5)).outcome).toBe('charge');
    expect(decidePayment({ ...b, declineRate: 0, transientRate: 0, noAnswerRate: 0, faultRate: 1 }, scripted(0.9999, 0.5)).outcome).toBe('fault');
  });
});

describe('shipping decision', () => {
  const b = { failureRate: 0.1, latency, deliveryDelayMs: 1000 };
  it('rejects below the rate, else creates, with a carrier from the list and 2–5 days of transit', () => {
    expect(decideShipping(b, scripted(0.05, 0, 0, 0))).toEqual({ outcome: 'reject', delayMs: 100, carrier: CARRIERS[0], deliveryDays: 2 });
    expect(decideShipping(b, scripted(0.1, 0.999, 0.999, 0.999))).toEqual({ outcome: 'create', delayMs: 200, carrier: CARRIERS[CARRIERS.length - 1], deliveryDays: 5 });
  });
});

describe('tracking numbers', () => {
  it('are SHIP- and 10 uppercase alphanumerics, and do not repeat', () => {
    const numbers = Array.from({ length: 1000 }, newTrackingNumber);
    for (const n of numbers) expect(n).toMatch(TRACKING_NUMBER_PATTERN);
    expect(TRACKING_NUMBER_PATTERN.test('SHIP-abcdefghij')).toBe(false);
    expect(new Set(numbers).size).toBe(numbers.length);
  });
});

describe('simulators', () => {
  const dev = (extra: Record<string, unknown> = {}): SimulationSettings => resolveSimulation({ NODE_ENV: 'development', ...extra });

  it('make the same choices for the same SIM_SEED, and different ones per module', () => {
    const run = () => {
      const p = new PaymentSimulator(dev({ SIM_SEED: 99 }));
      return Array.from({ length: 50 }, () => p.decide());
    };
    expect(run()).toEqual(run());
    const outcomes = new Set(run().map((d) => d.outcome));
    expect(outcomes).toEqual(new Set(['charge', 'decline', 'unavailable', 'noAnswer']));
    const inv = new InventorySimulator(dev({ SIM_SEED: 99 }));
    const ship = new ShippingSimulator(dev({ SIM_SEED: 99 }));
    expect(Array.from({ length: 20 }, () => inv.decide().delayMs)).not.toEqual(Array.from({ length: 20 }, () => ship.decide().delayMs));
  });

  it('start from the env defaults, take overrides per case, and reset to defaults and the seed start', () => {
    const p = new PaymentSimulator(dev({ SIM_SEED: 5 }));
    const first = Array.from({ length: 10 }, () => p.decide());
    p.configure({ declineRate: 1, transientRate: 0, noAnswerRate: 0 });
    expect(p.behaviour.declineRate).toBe(1);
    expect(Array.from({ length: 10 }, () => p.decide().outcome)).toEqual(Array(10).fill('decline'));
    p.reset();
    expect(p.behaviour).toEqual(dev().payment);
    expect(Array.from({ length: 10 }, () => p.decide())).toEqual(first);
  });

  it('refuse an inconsistent override and keep the previous behaviour', () => {
    const p = new PaymentSimulator(dev());
    expect(() => p.configure({ declineRate: 0.9 })).toThrow(/must not exceed 1/);
    expect(() => p.configure({ declineRate: -0.1 })).toThrow(/between 0 and 1/);
    const s = new ShippingSimulator(dev());
    expect(() => s.configure({ latency: { minMs: 10, maxMs: 5 } })).toThrow(/must not exceed/);
    expect(p.behaviour).toEqual(dev().payment);
    expect(s.behaviour.latency).toEqual(dev().shipping.latency);
  });

  it('the test profile never fails and answers at once', () => {
    const test = resolveSimulation({ NODE_ENV: 'test' });
    const p = new PaymentSimulator(test);
    const i = new InventorySimulator(test);
    const s = new ShippingSimulator(test);
    for (let k = 0; k < 200; k++) {
      expect(p.decide()).toEqual({ outcome: 'charge', delayMs: 0 });
      expect(i.decide()).toEqual({ outcome: 'available', delayMs: 0 });
      expect(s.decide()).toMatchObject({ outcome: 'create', delayMs: 0 });
    }
  });
});
