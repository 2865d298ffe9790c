/** Writes openapi/openapi.yaml from the code: `npm run openapi`. */
import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

// The committed document describes the default settings, whatever this shell or `.env` has set
// (importing the environment's module loads `.env`, so the settings are dropped after that).
await import('../config/env.js');
for (const key of Object.keys(process.env)) if (key.startsWith('AUTH_')) delete process.env[key];

const { OPENAPI_FILE, renderOpenApiYaml } = await import('../platform/http/openapi-file.js');
mkdirSync(dirname(OPENAPI_FILE), { recursive: true });
writeFileSync(OPENAPI_FILE, await renderOpenApiYaml());
console.log(`wrote ${OPENAPI_FILE}`);
