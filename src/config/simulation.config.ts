import { registerAs } from '@nestjs/config';
import type { Env } from './env.schema.js';
import { env } from './env.js';
import type { simulationEnv } from './simulation.env.js';

export type SimulationProfile = 'dev' | 'test';

export interface LatencyRange {
  minMs: number;
  maxMs: number;
}

export interface InventoryBehaviour {
  /** Share of ReserveStock answered INVENTORY_UNAVAILABLE (transient), after the real stock checks. */
  failureRate: number;
  latency: LatencyRange;
}

export interface PaymentBehaviour {
  declineRate: number;
  transientRate: number;
  /** Share of ChargePayment that gets no reply at all (the saga's deadline handles it). */
  noAnswerRate: number;
  /**
   * Share of ChargePayment on which the provider fails in a way that is neither an answer nor a
   * transient fault (a bug, a malformed reply): the command is retried, then dead-lettered. 0 in
   * both profiles; the chaos suite sets it (scenario C9).
   */
  faultRate: number;
  latency: LatencyRange;
}

export interface ShippingBehaviour {
  failureRate: number;
  latency: LatencyRange;
  /** How long after its creation a shipment is marked DELIVERED. */
  deliveryDelayMs: number;
}

export interface SimulationSettings {
  profile: SimulationProfile;
  /** Seed of the modules' random choices; null draws a fresh seed at every start. */
  seed: number | null;
  inventory: InventoryBehaviour;
  payment: PaymentBehaviour;
  shipping: ShippingBehaviour & { deliveryIntervalMs: number; deliveryBatchSize: number };
}

/** Defaults per profile (docs/architecture.md §8): `dev` shows failures and latency, `test` is quiet and fast. */
export const SIMULATION_PROFILES: Record<SimulationProfile, Omit<SimulationSettings, 'profile' | 'seed'>> = {
  dev: {
    inventory: { failureRate: 0.3, latency: { minMs: 500, maxMs: 2000 } },
    payment: { declineRate: 0.15, transientRate: 0.2, noAnswerRate: 0.05, faultRate: 0, latency: { minMs: 200, maxMs: 1500 } },
    shipping: { failureRate: 0.1, latency: { minMs: 1000, maxMs: 4000 }, deliveryDelayMs: 30000, deliveryIntervalMs: 1000, deliveryBatchSize: 100 },
  },
  test: {
    inventory: { failureRate: 0, latency: { minMs: 0, maxMs: 0 } },
    payment: { declineRate: 0, transientRate: 0, noAnswerRate: 0, faultRate: 0, latency: { minMs: 0, maxMs: 0 } },
    shipping: { failureRate: 0, latency: { minMs: 0, maxMs: 0 }, deliveryDelayMs: 1000, deliveryIntervalMs: 200, deliveryBatchSize: 100 },
  },
};

/** Problems of a behaviour that the schema cannot see field by field; empty when it is consistent. */
export function behaviourProblems(
  module: 'inventory' | 'payment' | 'shipping',
  b: { latency: LatencyRange; declineRate?: number; transientRate?: number; noAnswerRate?: number; faultRate?: number },
): string[] {
  const problems: string[] = [];
  const prefix = module.toUpperCase();
  if (!(b.latency.minMs >= 0)) problems.push(`${prefix}_LATENCY_MIN_MS must be 0 or more (got ${b.latency.minMs})`);
  if (b.latency.minMs > b.latency.maxMs) problems.push(`${prefix}_LATENCY_MIN_MS (${b.latency.minMs}) must not exceed ${prefix}_LATENCY_MAX_MS (${b.latency.maxMs})`);
  if (module === 'payment') {
    const sum = (b.declineRate ?? 0) + (b.transientRate ?? 0) + (b.noAnswerRate ?? 0) + (b.faultRate ?? 0);
    if (sum > 1 + 1e-9) problems.push(`PAYMENT_DECLINE_RATE + PAYMENT_TRANSIENT_RATE + PAYMENT_NO_ANSWER_RATE + PAYMENT_FAULT_RATE must not exceed 1 (got ${sum})`);
  }
  return problems;
}

/** The simulation variables of the validated environment, and NODE_ENV (which picks the default profile). */
export type SimulationEnv = Pick<Env, 'NODE_ENV' | keyof typeof simulationEnv>;

/**
 * Settings from the validated environment: every variable left unset takes the profile's default.
 * The profile defaults to `test` under NODE_ENV=test, else `dev`.
 */
export function resolveSimulation(e: SimulationEnv): SimulationSettings {
  const profile = e.SIM_PROFILE ?? (e.NODE_ENV === 'test' ? 'test' : 'dev');
  const d = SIMULATION_PROFILES[profile];
  const settings: SimulationSettings = {
    profile,
    seed: e.SIM_SEED ?? null,
    inventory: {
      failureRate: e.INVENTORY_FAILURE_RATE ?? d.inventory.failureRate,
      latency: { minMs: e.INVENTORY_LATENCY_MIN_MS ?? d.inventory.latency.minMs, maxMs: e.INVENTORY_LATENCY_MAX_MS ?? d.inventory.latency.maxMs },
    },
    payment: {
      declineRate: e.PAYMENT_DECLINE_RATE ?? d.payment.declineRate,
      transientRate: e.PAYMENT_TRANSIENT_RATE ?? d.payment.transientRate,
      noAnswerRate: e.PAYMENT_NO_ANSWER_RATE ?? d.payment.noAnswerRate,
      faultRate: e.PAYMENT_FAULT_RATE ?? d.payment.faultRate,
      latency: { minMs: e.PAYMENT_LATENCY_MIN_MS ?? d.payment.latency.minMs, maxMs: e.PAYMENT_LATENCY_MAX_MS ?? d.payment.latency.maxMs },
    },
    shipping: {
      failureRate: e.SHIPPING_FAILURE_RATE ?? d.shipping.failureRate,
      latency: { minMs: e.SHIPPING_LATENCY_MIN_MS ?? d.shipping.latency.minMs, maxMs: e.SHIPPING_LATENCY_MAX_MS ?? d.shipping.latency.maxMs },
      deliveryDelayMs: e.SHIPPING_DELIVERY_DELAY_MS ?? d.shipping.deliveryDelayMs,
      deliveryIntervalMs: e.SHIPPING_DELIVERY_INTERVAL_MS ?? d.shipping.deliveryIntervalMs,
      deliveryBatchSize: e.SHIPPING_DELIVERY_BATCH_SIZE ?? d.shipping.deliveryBatchSize,
    },
  };
  const problems = [...behaviourProblems('inventory', settings.inventory), ...behaviourProblems('payment', settings.payment), ...behaviourProblems('shipping', settings.shipping)];
  if (problems.length) throw new Error(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return settings;
}

export const simulationConfig = registerAs('simulation', (): SimulationSettings => resolveSimulation(env()));
export type SimulationConfig = SimulationSettings;
