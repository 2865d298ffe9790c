import Joi from 'joi';

/** Behaviour of the simulated system modules (DESIGN §8). Filled in by the system-modules work. */
export const simulationEnvSchema = Joi.object({});
