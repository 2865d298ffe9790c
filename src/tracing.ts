/**
 * OpenTelemetry tracing, started before the application is loaded, or not at all: run the service
 * as `node --import ./dist/tracing.js dist/main.js` (npm start, npm run start:prod and the image do).
 * The instrumentations patch modules as they are loaded, so this must come first; the service is
 * ESM, and its instrumented packages (express, mysql2, node:http) are loaded through `require` by
 * the CommonJS packages that use them (Nest, TypeORM), which the SDK's require hook patches. The
 * ESM hook covers the same packages if the service ever imports them itself.
 *
 * Tracing is off unless the standard variables ask for it (OTEL_TRACES_EXPORTER, or an OTLP
 * endpoint; see tracingRequested): then nothing of the SDK is even loaded. See README (Operations).
 */
import { register } from 'node:module';
import { env } from './config/env.js';
import { tracingRequested } from './platform/observability/tracing.js';

// Validates every variable, the OTEL_* ones included, and loads .env first.
env();
if (tracingRequested(process.env)) {
  const { INSTRUMENTED_MODULES, startTracingSdk } = await import('./platform/observability/tracing.sdk.js');
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, { data: { include: INSTRUMENTED_MODULES } });
  startTracingSdk();
}
