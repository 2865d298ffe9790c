import type { IncomingMessage } from 'node:http';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { MySQL2Instrumentation } from '@opentelemetry/instrumentation-mysql2';
import { NodeSDK } from '@opentelemetry/sdk-node';

/** Requests that say nothing about an order (probes, scrapes, docs): no span, nor spans of what they query. */
const UNTRACED_PATHS = /^\/(health|metrics|docs|docs-json)(\/|\?|$)/;

/**
 * The packages the instrumentations patch. They patch `require`; import-in-the-middle (the ESM hook
 * registered by src/tracing.ts) is limited to these, for a module the service would import as ESM.
 */
export const INSTRUMENTED_MODULES = ['http', 'https', 'express', 'mysql2', 'mysql2/promise'];

/**
 * The OpenTelemetry SDK for traces only, every setting from the standard OTEL_* variables
 * (exporter, endpoint, protocol, headers, sampler, service name and resource, batch processor):
 * HTTP server and client, Express routers and route handlers (Nest's run inside them: the contrib
 * Nest instrumentation supports Nest up to 11) and mysql2 queries are instrumented; the Kafka
 * spans are the service's own (tracing.ts: they follow each message through the outbox). Metrics
 * stay with Prometheus and logs with stdout: no OTLP metric reader or log processor is started.
 */
export function startTracingSdk(): NodeSDK {
  const sdk = new NodeSDK({
    // The service's name unless the variables give one.
    serviceName: process.env.OTEL_SERVICE_NAME || /(^|,)\s*service\.name\s*=/.test(process.env.OTEL_RESOURCE_ATTRIBUTES ?? '') ? undefined : 'order-flow',
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req: IncomingMessage) => UNTRACED_PATHS.test(req.url ?? ''),
        // Outgoing calls (the identity provider's keys) only as part of a traced request.
        requireParentforOutgoingSpans: true,
      }),
      // Route handlers (Nest's guards, pipes and controller run inside them), not each of the dozen
      // middleware every request passes (helmet, body parser, correlation, ...): the server span times those.
      new ExpressInstrumentation({ ignoreLayersType: [ExpressLayerType.MIDDLEWARE] }),
      new MySQL2Instrumentation(),
    ],
  });
  sdk.start();
  return sdk;
}
