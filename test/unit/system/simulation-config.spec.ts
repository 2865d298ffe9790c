import { resolveSimulation, SIMULATION_PROFILES } from '../../../src/config/simulation.config.js';
import { validateEnv } from '../../../src/config/env.schema.js';

/** Validates with the root schema (strings converted), then resolves the namespace. */
function settings(raw: Record<string, string>) {
  return resolveSimulation(validateEnv(raw));
}

describe('simulation settings', () => {
  it('uses the dev profile by default outside tests, with the figures of docs/architecture.md §8', () => {
    const s = settings({ NODE_ENV: 'development' });
    expect(s.profile).toBe('dev');
    expect(s.seed).toBeNull();
    expect(s.inventory).toEqual({ failureRate: 0.3, latency: { minMs: 500, maxMs: 2000 } });
    expect(s.payment).toEqual({ declineRate: 0.15, transientRate: 0.2, noAnswerRate: 0.05, faultRate: 0, latency: { minMs: 200, maxMs: 1500 } });
    expect(s.payment.declineRate + s.payment.transientRate + s.payment.noAnswerRate).toBeCloseTo(0.4);
    expect(s.shipping).toMatchObject({ failureRate: 0.1, latency: { minMs: 1000, maxMs: 4000 }, deliveryDelayMs: 30000 });
  });

  it('uses the quiet test profile under NODE_ENV=test', () => {
    const s = settings({ NODE_ENV: 'test' });
    expect(s.profile).toBe('test');
    expect(s.inventory.failureRate).toBe(0);
    expect(s.payment).toEqual({ declineRate: 0, transientRate: 0, noAnswerRate: 0, faultRate: 0, latency: { minMs: 0, maxMs: 0 } });
    expect(s.shipping).toMatchObject({ failureRate: 0, latency: { minMs: 0, maxMs: 0 }, deliveryDelayMs: 1000 });
  });

  it('lets SIM_PROFILE override the NODE_ENV choice', () => {
    expect(settings({ NODE_ENV: 'test', SIM_PROFILE: 'dev' }).inventory).toEqual(SIMULATION_PROFILES.dev.inventory);
    expect(settings({ NODE_ENV: 'production', SIM_PROFILE: 'test' }).profile).toBe('test');
  });

  it('takes each variable that is set and the profile default for the others', () => {
    const s = settings({ NODE_ENV: 'development', PAYMENT_DECLINE_RATE: '0.5', SHIPPING_DELIVERY_DELAY_MS: '250', INVENTORY_LATENCY_MAX_MS: '900', SIM_SEED: '77' });
    expect(s.seed).toBe(77);
    expect(s.payment.declineRate).toBe(0.5);
    expect(s.payment.transientRate).toBe(0.2);
    expect(s.shipping.deliveryDelayMs).toBe(250);
    expect(s.inventory.latency).toEqual({ minMs: 500, maxMs: 900 });
  });

  it('rejects malformed values through Joi, naming the variable', () => {
    expect(() => settings({ PAYMENT_DECLINE_RATE: '1.5' })).toThrow(/PAYMENT_DECLINE_RATE/);
    expect(() => settings({ SIM_PROFILE: 'prod' })).toThrow(/SIM_PROFILE/);
    expect(() => settings({ SIM_SEED: 'abc' })).toThrow(/SIM_SEED/);
    expect(() => settings({ SHIPPING_LATENCY_MIN_MS: '-1' })).toThrow(/SHIPPING_LATENCY_MIN_MS/);
  });

  it('rejects inconsistent combinations at boot: payment shares over 1, min latency over max', () => {
    expect(() => settings({ NODE_ENV: 'development', PAYMENT_DECLINE_RATE: '0.9' })).toThrow(/PAYMENT_DECLINE_RATE \+ PAYMENT_TRANSIENT_RATE \+ PAYMENT_NO_ANSWER_RATE/);
    // dev default max is 2000: a min of 3000 alone is inconsistent.
    expect(() => settings({ NODE_ENV: 'development', INVENTORY_LATENCY_MIN_MS: '3000' })).toThrow(
      /INVENTORY_LATENCY_MIN_MS \(3000\) must not exceed INVENTORY_LATENCY_MAX_MS \(2000\)/,
    );
  });
});
