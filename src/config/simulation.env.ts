import Joi from 'joi';

const rate = Joi.number().min(0).max(1);
const ms = Joi.number().integer().min(0);

/**
 * Behaviour of the simulated system modules (docs/architecture.md §8). No defaults here on purpose: a variable
 * left unset takes the default of the active profile (`SIM_PROFILE`), see simulation.config.ts.
 */
export const simulationEnvSchema = Joi.object({
  SIM_PROFILE: Joi.string().valid('dev', 'test').optional(),
  SIM_SEED: Joi.number().integer().min(0).max(0xffffffff).optional(),

  INVENTORY_FAILURE_RATE: rate.optional(),
  INVENTORY_LATENCY_MIN_MS: ms.optional(),
  INVENTORY_LATENCY_MAX_MS: ms.optional(),

  PAYMENT_DECLINE_RATE: rate.optional(),
  PAYMENT_TRANSIENT_RATE: rate.optional(),
  PAYMENT_NO_ANSWER_RATE: rate.optional(),
  PAYMENT_FAULT_RATE: rate.optional(),
  PAYMENT_LATENCY_MIN_MS: ms.optional(),
  PAYMENT_LATENCY_MAX_MS: ms.optional(),

  SHIPPING_FAILURE_RATE: rate.optional(),
  SHIPPING_LATENCY_MIN_MS: ms.optional(),
  SHIPPING_LATENCY_MAX_MS: ms.optional(),
  SHIPPING_DELIVERY_DELAY_MS: ms.optional(),
  SHIPPING_DELIVERY_INTERVAL_MS: Joi.number().integer().min(10).optional(),
  SHIPPING_DELIVERY_BATCH_SIZE: Joi.number().integer().min(1).max(5000).optional(),
});
