import { z } from 'zod';
import { boolean, number, text, url } from './env-kit.js';

/** Empty counts as unset, as the OpenTelemetry specification says of its variables. */
const unsetIfEmpty = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema.optional());

const exporters = z
  .string()
  .regex(/^\s*(otlp|console|zipkin|none)(\s*,\s*(otlp|console|zipkin|none))*\s*$/, 'OTEL_TRACES_EXPORTER must be a comma-separated list of otlp, console, zipkin or none');
const protocol = z.enum(['http/protobuf', 'http/json', 'grpc']);
const endpoint = url(['http', 'https']);

/**
 * The standard OpenTelemetry variables of tracing, read by the SDK itself (src/tracing.ts starts it
 * only when OTEL_TRACES_EXPORTER or an OTLP endpoint is set), checked here like every other setting.
 * The SDK's other OTEL_* variables (headers, timeouts, batch processor, resource) pass through unchecked.
 */
export const tracingEnv = {
  OTEL_SDK_DISABLED: unsetIfEmpty(boolean),
  OTEL_TRACES_EXPORTER: unsetIfEmpty(exporters),
  OTEL_EXPORTER_OTLP_ENDPOINT: unsetIfEmpty(endpoint),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: unsetIfEmpty(endpoint),
  OTEL_EXPORTER_OTLP_PROTOCOL: unsetIfEmpty(protocol),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: unsetIfEmpty(protocol),
  OTEL_SERVICE_NAME: unsetIfEmpty(text),
  OTEL_TRACES_SAMPLER: unsetIfEmpty(z.enum(['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'])),
  OTEL_TRACES_SAMPLER_ARG: unsetIfEmpty(number({ min: 0, max: 1, integer: false })),
};
