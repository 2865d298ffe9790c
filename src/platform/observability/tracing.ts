import { AsyncLocalStorage } from 'node:async_hooks';
import {
  context,
  isSpanContextValid,
  propagation,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Link,
  type Span,
  type TextMapGetter,
} from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { HEADER_TRACEPARENT } from '../../contracts/envelope.js';

/**
 * OpenTelemetry tracing as the service's own code uses it (docs/adr/0006-trace-propagation-through-the-outbox.md).
 * The SDK itself is started, or not, by src/tracing.ts before the application loads. When it is
 * not, every helper here returns at its first check: no span, no context lookup, null trace headers.
 */

/** The W3C Trace Context headers, as Kafka headers and outbox columns carry them (the contract's names). */
export { HEADER_TRACEPARENT } from '../../contracts/envelope.js';
export const HEADER_TRACESTATE = 'tracestate';

/** What an outbox row stores of the context its message was produced in (null when not traced). */
export interface TraceHeaders {
  traceparent: string;
  tracestate?: string;
}

/** The outbox columns' sizes (migration OutboxTraceContext1765100000000). */
const TRACEPARENT_MAX = 55;
const TRACESTATE_MAX = 512;

const TRACER_NAME = 'order-flow';
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

/** Whether an SDK registered a tracer provider (src/tracing.ts, or a test's in-memory one). */
export function tracingEnabled(): boolean {
  const provider = trace.getTracerProvider();
  return (provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider) !== NOOP_PROVIDER;
}

/** Writes out the spans in hand (on shutdown, so the last seconds' spans are not lost with the process). */
export async function flushTraces(): Promise<void> {
  const provider = trace.getTracerProvider();
  const delegate = (provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider) as { forceFlush?: () => Promise<void> };
  await delegate.forceFlush?.();
}

/**
 * Whether the standard variables ask for traces: an exporter named in OTEL_TRACES_EXPORTER (other
 * than `none`), or an OTLP endpoint; never when OTEL_SDK_DISABLED is true. Otherwise no SDK starts.
 */
export function tracingRequested(env: Record<string, string | undefined>): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (exporters.length) return exporters.some((e) => e !== 'none');
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}

/** The current span's ids for a log line (`trace_id`, `span_id`), or null outside a span. */
export function logTraceFields(): { trace_id: string; span_id: string } | null {
  const span = trace.getSpan(context.active());
  if (!span) return null;
  const sc = span.spanContext();
  return isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : null;
}

/**
 * Runs `fn` outside any trace, with the instrumentations' spans suppressed: background work that
 * serves many orders at once (the relay's round trips), even when a request or a message kicked it.
 */
export function untraced<T>(fn: () => T): T {
  if (!tracingEnabled()) return fn();
  return context.with(suppressTracing(ROOT_CONTEXT), fn);
}

// --- producing: the outbox ----------------------------------------------------------------------

/**
 * The contexts of the messages a consumer batch handles, by event id: a message staged while they
 * are handled continues the trace of the message that caused it (its causationId), not that of
 * whatever context is active for the batch as a whole.
 */
const causes = new AsyncLocalStorage<Map<string, Context>>();

/**
 * The trace headers an outbox row stores for a message caused by `causationId`: the context of that
 * message when a consumer batch handles it, else the active span's (the HTTP request), else null.
 */
export function outgoingTraceHeaders(causationId: string | undefined): TraceHeaders | null {
  if (!tracingEnabled()) return null;
  const ctx = (causationId && causes.getStore()?.get(causationId)) || context.active();
  const span = trace.getSpan(ctx);
  if (!span || !isSpanContextValid(span.spanContext())) return null;
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  const traceparent = carrier[HEADER_TRACEPARENT];
  if (!traceparent || traceparent.length > TRACEPARENT_MAX) return null;
  const tracestate = carrier[HEADER_TRACESTATE];
  // A tracestate longer than its column is left out rather than fail the transaction.
  return tracestate && tracestate.length <= TRACESTATE_MAX ? { traceparent, tracestate } : { traceparent };
}

/** An outbox row's stored context as Kafka headers (none when it has none). */
export function storedTraceHeaders(row: { traceparent: string | null; tracestate: string | null }): Record<string, string> {
  if (!row.traceparent) return {};
  return row.tracestate ? { [HEADER_TRACEPARENT]: row.traceparent, [HEADER_TRACESTATE]: row.tracestate } : { [HEADER_TRACEPARENT]: row.traceparent };
}

const recordGetter: TextMapGetter<Record<string, unknown>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    if (value === undefined || value === null) return undefined;
    return Array.isArray(value) ? value.map(String) : String(value);
  },
};

/** Messages the relay sends in one request, by topic, with their headers (the stored trace headers among them). */
export interface PublishedBatch {
  topic: string;
  messages: Array<{ key?: unknown; headers?: Record<string, unknown> }>;
}

/**
 * One PRODUCER span per message the relay sends (`send <topic>`), a child of the context its
 * outbox row stored, and that span's context in the message's `traceparent` in place of the
 * stored one: the consumers' spans hang under the send. Messages stored without a context keep
 * none. Returns what ends the spans once the send is known, or null when tracing is off.
 */
export function startPublishSpans(batches: readonly PublishedBatch[]): ((error?: unknown) => void) | null {
  if (!tracingEnabled()) return null;
  const tracer = trace.getTracer(TRACER_NAME);
  const count = batches.reduce((n, b) => n + b.messages.length, 0);
  const spans: Span[] = [];
  for (const { topic, messages } of batches) {
    for (const m of messages) {
      if (!m.headers || m.headers[HEADER_TRACEPARENT] === undefined) continue;
      const parent = propagation.extract(ROOT_CONTEXT, m.headers, recordGetter);
      const span = tracer.startSpan(
        `send ${topic}`,
        {
          kind: SpanKind.PRODUCER,
          attributes: {
            'messaging.system': 'kafka',
            'messaging.operation.type': 'send',
            'messaging.operation.name': 'send',
            'messaging.destination.name': topic,
            'messaging.kafka.message.key': String(m.key),
            'messaging.batch.message_count': count,
          },
        },
        parent,
      );
      delete m.headers[HEADER_TRACESTATE];
      propagation.inject(trace.setSpan(parent, span), m.headers);
      spans.push(span);
    }
  }
  return (error) => endAll(spans, error);
}

// --- consuming ------------------------------------------------------------------------------------

/** A message of a consumer batch, as far as its span needs it. */
export interface ConsumedMessage {
  headers?: Record<string, unknown> | undefined;
  offset: string;
  eventId: string;
  eventType: string;
  orderId: string;
}

/** The spans of a batch's messages while they are handled; `run` handles them, `end` closes the spans. */
export interface ConsumerSpans {
  run<T>(fn: () => Promise<T>): Promise<T>;
  end(error?: unknown): void;
}

/**
 * One CONSUMER span per message (`process <topic>`), a child of the producer's context from its
 * `traceparent` header: one order is one trace, from the POST through every hop. When the batch
 * holds several messages, their shared work (one transaction) runs under a span of its own with
 * a link to each message, and each message's span links to it; the messages staged meanwhile
 * continue the trace of the message that caused them (see outgoingTraceHeaders). Null when tracing is off.
 */
export function startConsumerSpans(target: { topic: string; partition: number; group: string }, messages: readonly ConsumedMessage[]): ConsumerSpans | null {
  if (!tracingEnabled() || !messages.length) return null;
  const tracer = trace.getTracer(TRACER_NAME);
  const common = {
    'messaging.system': 'kafka',
    'messaging.operation.type': 'process',
    'messaging.operation.name': 'process',
    'messaging.destination.name': target.topic,
    'messaging.destination.partition.id': String(target.partition),
    'messaging.consumer.group.name': target.group,
  };
  const batchSpan =
    messages.length > 1
      ? tracer.startSpan(
          `process ${target.topic}`,
          {
            kind: SpanKind.CONSUMER,
            attributes: { ...common, 'messaging.batch.message_count': messages.length },
            links: messages.flatMap((m): Link[] => {
              const sc = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, m.headers ?? {}, recordGetter));
              return sc && isSpanContextValid(sc) ? [{ context: sc }] : [];
            }),
          },
          ROOT_CONTEXT,
        )
      : null;
  const byEvent = new Map<string, Context>();
  const spans: Span[] = [];
  for (const m of messages) {
    const parent = propagation.extract(ROOT_CONTEXT, m.headers ?? {}, recordGetter);
    const span = tracer.startSpan(
      `process ${target.topic}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          ...common,
          'messaging.message.id': m.eventId,
          'messaging.kafka.offset': Number(m.offset),
          'messaging.kafka.message.key': m.orderId,
          'order_flow.event_type': m.eventType,
          'order_flow.order_id': m.orderId,
        },
        links: batchSpan ? [{ context: batchSpan.spanContext() }] : [],
      },
      parent,
    );
    spans.push(span);
    byEvent.set(m.eventId, trace.setSpan(parent, span));
  }
  const active = batchSpan ? trace.setSpan(ROOT_CONTEXT, batchSpan) : byEvent.get(messages[0].eventId)!;
  return {
    run: (fn) => context.with(active, () => causes.run(byEvent, fn)),
    end: (error) => endAll(batchSpan ? [...spans, batchSpan] : spans, error),
  };
}

function endAll(spans: Span[], error?: unknown): void {
  for (const span of spans) {
    if (error !== undefined) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    }
    span.end();
  }
}
