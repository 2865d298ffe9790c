import { context, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { node } from '@opentelemetry/sdk-node';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { logTraceFields, outgoingTraceHeaders, startConsumerSpans, startPublishSpans, tracingEnabled, untraced } from '../../../src/platform/observability/tracing.js';

const traceparentOf = (traceId: string, spanId: string) => `00-${traceId}-${spanId}-01`;

/** The service's own spans and trace context, with an SDK registered (in memory). */
describe('tracing helpers, tracing on', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new node.NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = () => trace.getTracer('test');

  beforeAll(() => provider.register());
  afterAll(() => provider.shutdown());
  beforeEach(() => exporter.reset());

  it('sees the SDK', () => {
    expect(tracingEnabled()).toBe(true);
  });

  it('stores the active span as traceparent (the HTTP request), and nothing outside a span', () => {
    expect(outgoingTraceHeaders(undefined)).toBeNull();
    tracer().startActiveSpan('POST /api/orders', (span) => {
      const { traceId, spanId } = span.spanContext();
      expect(outgoingTraceHeaders(undefined)).toEqual({ traceparent: traceparentOf(traceId, spanId) });
      expect(logTraceFields()).toEqual({ trace_id: traceId, span_id: spanId });
      span.end();
    });
  });

  it('sends each message under a producer span that continues the context its row stored', () => {
    const stored = traceparentOf('0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331');
    const batch = [
      {
        topic: 'orders-in',
        messages: [
          { key: 'order-1', headers: { 'x-event-type': 'OrderCreated', traceparent: stored } as Record<string, unknown> },
          { key: 'order-2', headers: {} as Record<string, unknown> },
        ],
      },
    ];
    const end = startPublishSpans(batch)!;
    end();
    const [span] = exporter.getFinishedSpans();
    expect(exporter.getFinishedSpans()).toHaveLength(1); // the message stored without a context gets none
    expect(span.name).toBe('send orders-in');
    expect(span.kind).toBe(SpanKind.PRODUCER);
    expect(span.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(span.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(batch[0].messages[0].headers.traceparent).toBe(traceparentOf(span.spanContext().traceId, span.spanContext().spanId));
    expect(batch[0].messages[0].headers['x-event-type']).toBe('OrderCreated');
    expect(batch[0].messages[1].headers).toEqual({});
  });

  it('handles a batch of two orders: one span per message in its own trace, and what each causes continues that trace', async () => {
    const a = traceparentOf('11111111111111111111111111111111', '1111111111111111');
    const b = traceparentOf('22222222222222222222222222222222', '2222222222222222');
    const spans = startConsumerSpans({ topic: 'inventory-requests', partition: 1, group: 'order-flow-inventory' }, [
      { headers: { traceparent: Buffer.from(a) }, offset: '7', eventId: 'evt-a', eventType: 'ReserveStock', orderId: 'order-a' },
      { headers: { traceparent: Buffer.from(b) }, offset: '8', eventId: 'evt-b', eventType: 'ReserveStock', orderId: 'order-b' },
    ])!;
    const staged = await spans.run(async () => {
      await new Promise((resolve) => setImmediate(resolve));
      return { a: outgoingTraceHeaders('evt-a'), b: outgoingTraceHeaders('evt-b'), other: outgoingTraceHeaders('evt-unknown') };
    });
    spans.end();
    const finished = exporter.getFinishedSpans();
    const [forA, forB, shared] = finished;
    expect(finished).toHaveLength(3);
    expect(forA.spanContext().traceId).toBe('11111111111111111111111111111111');
    expect(forA.parentSpanContext?.spanId).toBe('1111111111111111');
    expect(forA.kind).toBe(SpanKind.CONSUMER);
    expect(forA.attributes).toMatchObject({ 'messaging.message.id': 'evt-a', 'messaging.kafka.offset': 7, 'messaging.consumer.group.name': 'order-flow-inventory' });
    expect(forB.spanContext().traceId).toBe('22222222222222222222222222222222');
    expect(staged.a).toEqual({ traceparent: traceparentOf(forA.spanContext().traceId, forA.spanContext().spanId) });
    expect(staged.b).toEqual({ traceparent: traceparentOf(forB.spanContext().traceId, forB.spanContext().spanId) });
    // The batch's shared work (one transaction) has a span of its own, linked both ways.
    expect(shared.parentSpanContext).toBeUndefined();
    expect(shared.links.map((l) => l.context.spanId)).toEqual(['1111111111111111', '2222222222222222']);
    expect(forA.links.map((l) => l.context.spanId)).toEqual([shared.spanContext().spanId]);
    expect(staged.other).toEqual({ traceparent: traceparentOf(shared.spanContext().traceId, shared.spanContext().spanId) });
  });

  it('a single message runs in its own span, which failures mark as errors', async () => {
    const spans = startConsumerSpans({ topic: 'payment-requests', partition: 0, group: 'order-flow-payment' }, [
      { headers: {}, offset: '3', eventId: 'evt-c', eventType: 'ChargePayment', orderId: 'order-c' },
    ])!;
    const inside = await spans.run(async () => trace.getSpan(context.active())?.spanContext().spanId);
    spans.end(new Error('boom'));
    const [span] = exporter.getFinishedSpans();
    expect(inside).toBe(span.spanContext().spanId);
    expect(span.parentSpanContext).toBeUndefined(); // no traceparent: a trace of its own
    expect(span.status).toMatchObject({ code: 2, message: 'boom' });
  });

  it('leaves out a tracestate too long for its column', () => {
    const parent = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '33333333333333333333333333333333',
      spanId: '3333333333333333',
      traceFlags: 1,
      traceState: { serialize: () => `v=${'x'.repeat(600)}` } as never,
    });
    context.with(parent, () => {
      expect(outgoingTraceHeaders(undefined)).toEqual({ traceparent: traceparentOf('33333333333333333333333333333333', '3333333333333333') });
    });
  });

  it('runs background work outside any trace', () => {
    tracer().startActiveSpan('request', (span) => {
      untraced(() => {
        expect(trace.getSpan(context.active())).toBeUndefined();
        expect(outgoingTraceHeaders(undefined)).toBeNull();
      });
      span.end();
    });
  });
});
