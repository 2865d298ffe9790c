import Joi from 'joi';

/** Authentication settings (DESIGN §9). Filled in by the security work. */
export const authEnvSchema = Joi.object({});
