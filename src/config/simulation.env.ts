import { z } from 'zod';
import { number } from './env-kit.js';

const rate = number({ min: 0, max: 1, integer: false }).optional();
const ms = number({ min: 0 }).optional();

/**
 * Behaviour of the simulated system modules (docs/architecture.md §8). No defaults here on purpose: a variable
 * left unset takes the default of the active profile (`SIM_PROFILE`), see simulation.config.ts.
 */
export const simulationEnv = {
  SIM_PROFILE: z.enum(['dev', 'test']).optional(),
  SIM_SEED: number({ min: 0, max: 0xffffffff }).optional(),

  INVENTORY_FAILURE_RATE: rate,
  INVENTORY_LATENCY_MIN_MS: ms,
  INVENTORY_LATENCY_MAX_MS: ms,

  PAYMENT_DECLINE_RATE: rate,
  PAYMENT_TRANSIENT_RATE: rate,
  PAYMENT_NO_ANSWER_RATE: rate,
  PAYMENT_FAULT_RATE: rate,
  PAYMENT_LATENCY_MIN_MS: ms,
  PAYMENT_LATENCY_MAX_MS: ms,

  SHIPPING_FAILURE_RATE: rate,
  SHIPPING_LATENCY_MIN_MS: ms,
  SHIPPING_LATENCY_MAX_MS: ms,
  SHIPPING_DELIVERY_DELAY_MS: ms,
  SHIPPING_DELIVERY_INTERVAL_MS: number({ min: 10 }).optional(),
  SHIPPING_DELIVERY_BATCH_SIZE: number({ min: 1, max: 5000 }).optional(),
};
