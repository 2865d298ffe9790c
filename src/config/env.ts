import { validateEnv } from './env.schema.js';

/** Validated, type-converted environment; each config namespace reads from here. */
export function env(): Record<string, any> {
  return validateEnv({ ...process.env });
}
