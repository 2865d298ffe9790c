import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { randomInt } from 'node:crypto';
import { simulationConfig, type ShippingBehaviour } from '../../config/simulation.config.js';
import type { Random } from '../common/seeded-random.js';
import { rollAndDelay, Simulator } from '../common/simulator.js';

export const CARRIERS = ['DHL', 'UPS', 'FedEx', 'DPD', 'GLS'] as const;
export const DELIVERY_DAYS = { min: 2, max: 5 } as const;
const TRACKING_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
export const TRACKING_NUMBER_PATTERN = /^SHIP-[A-Z0-9]{10}$/;

/**
 * `SHIP-` and 10 uppercase alphanumerics. Drawn from the crypto generator, not the seeded one: it
 * is an identifier with a unique key, and a seeded run restarted would otherwise repeat them.
 */
export function newTrackingNumber(): string {
  let s = 'SHIP-';
  for (let i = 0; i < 10; i++) s += TRACKING_ALPHABET[randomInt(TRACKING_ALPHABET.length)];
  return s;
}

export interface ShippingDecision {
  outcome: 'create' | 'reject';
  delayMs: number;
  carrier: (typeof CARRIERS)[number];
  /** Estimated delivery, in days from now. */
  deliveryDays: number;
}

/** One ShipmentRequested: carrier rejection with `failureRate`, latency, carrier and estimate. */
export function decideShipping(b: ShippingBehaviour, random: Random): ShippingDecision {
  const { roll, delayMs } = rollAndDelay(b.latency, random);
  const carrier = random.pick(CARRIERS);
  const deliveryDays = random.int(DELIVERY_DAYS.min, DELIVERY_DAYS.max);
  return { outcome: roll < b.failureRate ? 'reject' : 'create', delayMs, carrier, deliveryDays };
}

/**
 * The simulated behaviour of the carriers: env defaults, overridable per test case, e.g.
 * `app.get(ShippingSimulator).configure({ failureRate: 1 })` or `configure({ deliveryDelayMs: 0 })`.
 */
@Injectable()
export class ShippingSimulator extends Simulator<ShippingBehaviour, ShippingDecision> {
  constructor(@Inject(simulationConfig.KEY) cfg: ConfigType<typeof simulationConfig>) {
    super('shipping', { failureRate: cfg.shipping.failureRate, latency: cfg.shipping.latency, deliveryDelayMs: cfg.shipping.deliveryDelayMs }, cfg.seed, decideShipping);
  }

  protected rates(b: ShippingBehaviour): Record<string, number> {
    return { failureRate: b.failureRate };
  }

  protected override otherProblems(b: ShippingBehaviour): string[] {
    return b.deliveryDelayMs >= 0 ? [] : [`deliveryDelayMs must be 0 or more (got ${b.deliveryDelayMs})`];
  }
}
