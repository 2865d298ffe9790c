/** Writes asyncapi/asyncapi.yaml from the contracts and the consumers' handlers: `npm run asyncapi`. */
import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ASYNCAPI_FILE, renderAsyncApiYaml } from './asyncapi-file.js';

mkdirSync(dirname(ASYNCAPI_FILE), { recursive: true });
writeFileSync(ASYNCAPI_FILE, renderAsyncApiYaml());
console.log(`wrote ${ASYNCAPI_FILE}`);
