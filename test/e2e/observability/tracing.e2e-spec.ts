import { randomUUID } from 'node:crypto';
import { SpanKind, trace } from '@opentelemetry/api';
import { node } from '@opentelemetry/sdk-node';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { eventually } from '../../support/eventually.js';
import { createProduct, placeOrder, waitForStatus } from '../../support/saga-fixtures.js';
import { startTestApp, validOrderBody, type TestApp } from '../../support/test-app.js';
import { OrdersService } from '../../../src/experience/orders/orders.service.js';

/**
 * One order is one trace, in this process with an in-memory exporter: the relay's send of every
 * message the order causes, and every consumer's handling of it, each span a child of the one
 * before, from the request through intake, inventory, payment and shipping. The instrumentations
 * (HTTP, Express, mysql2) patch modules as `require` loads them, which Jest's module loader bypasses:
 * here the test plays the HTTP server span around the intake; tracing-otlp.e2e-spec proves the
 * instrumented path on the built service.
 */
describe('tracing: one order, one trace (in-memory exporter)', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new node.NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  let t: TestApp;

  beforeAll(async () => {
    provider.register();
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
    await provider.shutdown();
  });

  const spansOf = (traceId: string) => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
  const consumed = (spans: ReadableSpan[], group: string) => spans.filter((s) => s.kind === SpanKind.CONSUMER && s.attributes['messaging.consumer.group.name'] === group);

  it('links the POST, the relay and every consumer, inventory → payment → shipping, in one trace', async () => {
    const productId = await createProduct(t, 10);
    // The intake as the POST's handler runs it, inside the request's server span.
    const { orderId, post } = await trace.getTracer('test').startActiveSpan('POST /api/orders', { kind: SpanKind.SERVER }, async (span) => {
      const accepted = await t.app.get(OrdersService).accept(validOrderBody({ items: [{ productId, quantity: 1 }] }) as never, randomUUID(), 'order-flow-dev');
      span.end();
      return { orderId: accepted.orderId, post: exporter.getFinishedSpans().at(-1)! };
    });
    expect(post.name).toBe('POST /api/orders');
    expect(await waitForStatus(t, orderId)).toMatchObject({ status: 'SHIPPED' });
    const traceId = post.spanContext().traceId;
    // Every hop of the order, in its trace: the messages it caused were sent and handled under it.
    const spans = await eventually(
      async () => spansOf(traceId),
      (s) =>
        ['order-flow-intake', 'order-flow-inventory', 'order-flow-payment', 'order-flow-shipping'].every((g) =>
          consumed(s, g).some((c) => c.attributes['order_flow.order_id'] === orderId),
        ),
      { what: `consumer spans of every group in trace ${traceId}` },
    );

    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    // A tree: every span but the POST has its parent in the same trace.
    for (const s of spans) if (s !== post) expect(byId.has(s.parentSpanContext?.spanId ?? '')).toBe(true);
    expect(post.parentSpanContext).toBeUndefined();

    // Each consumer span is a child of the relay's send of that message, itself a child of the span that staged it.
    const chainOf = (s: ReadableSpan): string[] => {
      const names: string[] = [];
      for (let at: ReadableSpan | undefined = s; at; at = byId.get(at.parentSpanContext?.spanId ?? '')) names.unshift(at.name);
      return names;
    };
    // Every message span is a child of the relay's send of that message.
    for (const s of spans.filter((x) => x.attributes['messaging.message.id'] !== undefined)) {
      const parent = byId.get(s.parentSpanContext!.spanId)!;
      expect([parent.name, parent.kind]).toEqual([`send ${String(s.attributes['messaging.destination.name'])}`, SpanKind.PRODUCER]);
    }
    // From the POST to the shipment request's handling, hop by hop (a subsequence: the saga may add hops in between).
    const shipping = consumed(spans, 'order-flow-shipping').find((s) => s.attributes['order_flow.event_type'] === 'ShipmentRequested')!;
    const chain = chainOf(shipping);
    expect(chain[0]).toBe(post.name);
    const hops = [
      'send orders-in',
      'process orders-in', // intake
      'send inventory-requests',
      'process inventory-requests', // inventory reserves
      'send inventory-replies',
      'process inventory-replies', // saga
      'send payment-requests',
      'process payment-requests', // payment charges
      'send payment-replies',
      'process payment-replies', // saga
      'send shipping-updates',
      'process shipping-updates', // shipping
    ];
    expect(chain.filter((n) => hops.includes(n))).toEqual(hops);
    for (const s of spans.filter((x) => x.name.startsWith('send '))) expect(s.kind).toBe(SpanKind.PRODUCER);
    expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(new Set([traceId]));
  });

  it('a compensation stays in the order trace: a declined payment releases the stock under the same trace', async () => {
    const { PaymentSimulator } = await import('../../../src/system/payment/payment.simulator.js');
    const payment = t.app.get(PaymentSimulator);
    payment.configure({ declineRate: 1 });
    try {
      const productId = await createProduct(t, 10);
      const orderId = await placeOrder(t, [{ productId, quantity: 2 }]);
      expect(await waitForStatus(t, orderId)).toMatchObject({ status: 'PAYMENT_FAILED' });
      const intake = await eventually(
        async () => consumed(exporter.getFinishedSpans(), 'order-flow-intake').find((s) => s.attributes['order_flow.order_id'] === orderId),
        Boolean,
        { what: 'the intake span of the declined order' },
      );
      const traceId = intake!.spanContext().traceId;
      const release = await eventually(
        async () => consumed(spansOf(traceId), 'order-flow-inventory').find((s) => s.attributes['order_flow.event_type'] === 'ReleaseStock'),
        Boolean,
        { what: 'the stock release in the order trace' },
      );
      expect(release!.attributes['order_flow.order_id']).toBe(orderId);
    } finally {
      payment.configure({ declineRate: 0 });
    }
  });
});
