import { readFileSync } from 'node:fs';
import { envSchema, validateEnv } from '../../../src/config/env.schema.js';

/** `.env.example` names every setting the service reads, and its values are valid. */
describe('.env.example', () => {
  const text = readFileSync('.env.example', 'utf8');
  const documented = new Set([...text.matchAll(/^#?\s?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));
  const values = Object.fromEntries([...text.matchAll(/^([A-Z][A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1], m[2]]));

  it('documents every variable of the schema', () => {
    const keys = Object.keys(envSchema.shape);
    expect(keys.length).toBeGreaterThan(50);
    expect(keys.filter((k) => !documented.has(k))).toEqual([]);
  });

  it('holds values the service accepts', () => {
    expect(() => validateEnv(values)).not.toThrow();
  });
});
