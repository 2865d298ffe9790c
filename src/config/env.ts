import { existsSync } from 'node:fs';
import { validateEnv, type Env } from './env.schema.js';

// `.env` is loaded here, the one place that reads the environment, when the first configuration is
// imported: whatever imports what first, nothing reads the environment before it. Variables already
// set win. The test runner sets its own environment (NODE_ENV=test) and so skips it.
if (process.env.NODE_ENV !== 'test' && existsSync('.env')) process.loadEnvFile('.env');

let validated: { source: string; env: Env } | null = null;

/**
 * The validated, typed environment. Validated once, then again only if the environment changed
 * (tests build several applications, each with its own variables, in one process).
 */
export function env(): Env {
  const source = JSON.stringify(process.env);
  if (validated?.source !== source) validated = { source, env: validateEnv({ ...process.env }) };
  return validated.env;
}
