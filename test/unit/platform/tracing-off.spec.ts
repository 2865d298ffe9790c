import { context, trace } from '@opentelemetry/api';
import {
  logTraceFields,
  outgoingTraceHeaders,
  startConsumerSpans,
  startPublishSpans,
  tracingEnabled,
  tracingRequested,
  untraced,
} from '../../../src/platform/observability/tracing.js';

/** Tracing is off unless the standard variables ask for it, and then costs the pipeline next to nothing. */
describe('tracing, off by default', () => {
  it('is requested only by an exporter other than none, or an OTLP endpoint, and never when the SDK is disabled', () => {
    expect(tracingRequested({})).toBe(false);
    expect(tracingRequested({ OTEL_SERVICE_NAME: 'order-flow', OTEL_TRACES_SAMPLER: 'always_on' })).toBe(false);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'none' })).toBe(false);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(false);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: ' ' })).toBe(false);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'otlp' })).toBe(true);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'console, otlp' })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'TRUE' })).toBe(false);
  });

  it('starts no SDK when src/tracing.ts runs without OTEL_* settings: no tracer provider, no context manager', async () => {
    for (const name of Object.keys(process.env).filter((k) => k.startsWith('OTEL_'))) delete process.env[name];
    await import('../../../src/tracing.js');
    expect(tracingEnabled()).toBe(false);
    // The API's no-op tracer: spans started anyway record nothing and carry no ids.
    const span = trace.getTracer('probe').startSpan('probe');
    expect(span.isRecording()).toBe(false);
    expect(trace.getSpan(context.active())).toBeUndefined();
  });

  it('stores no trace context, starts no message span and adds no log field', async () => {
    expect(outgoingTraceHeaders('a-causation-id')).toBeNull();
    expect(outgoingTraceHeaders(undefined)).toBeNull();
    const headers = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
    expect(startConsumerSpans({ topic: 't', partition: 0, group: 'g' }, [{ headers, offset: '1', eventId: 'e', eventType: 'E', orderId: 'o' }])).toBeNull();
    const batch = [{ topic: 't', messages: [{ key: 'o', headers: { ...headers } }] }];
    expect(startPublishSpans(batch)).toBeNull();
    // A context stored by a replica that traces still goes through untouched.
    expect(batch[0].messages[0].headers).toEqual(headers);
    expect(logTraceFields()).toBeNull();
    expect(untraced(() => 42)).toBe(42);
  });
});
