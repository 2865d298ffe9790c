import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import request from 'supertest';
import { issueTestToken, startOidcProvider, type RunningOidcProvider } from '../../../scripts/oidc-provider.mjs';
import { decodeSpans, type ExportedSpan } from '../../../scripts/lib/otlp.mjs';
import { eventually } from '../../support/eventually.js';
import { freePort } from '../../support/free-port.js';
import { validOrderBody } from '../../support/test-app.js';
import { GROUP_TOPICS } from '../../support/topics.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');

/** An OTLP/HTTP trace receiver on a free loopback port, keeping every span it is sent. */
async function startReceiver(): Promise<{ url: string; spans: ExportedSpan[]; contentTypes: Set<string>; close(): Promise<void> }> {
  const spans: ExportedSpan[] = [];
  const contentTypes = new Set<string>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (/gzip/.test(req.headers['content-encoding'] ?? '')) body = gunzipSync(body);
      if (req.method === 'POST' && req.url === '/v1/traces') {
        contentTypes.add(String(req.headers['content-type']));
        spans.push(...decodeSpans(body, req.headers['content-type']));
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, contentTypes, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/**
 * The built service, started as production starts it (`node --import ./dist/tracing.js dist/main.js`)
 * with nothing but the standard OTEL_* variables, exports through OTLP/HTTP (protobuf, the default)
 * the spans of the real instrumentations: the ESM service's HTTP server, Express route handlers and
 * mysql2 queries are patched, and they share the order's trace with the relay's and consumers' spans.
 */
describe('tracing on the built service: OTLP export of the auto-instrumented path', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let op: RunningOidcProvider;
  let child: ChildProcess;
  let output = '';
  let url: string;

  beforeAll(async () => {
    receiver = await startReceiver();
    op = await startOidcProvider({ port: 0 });
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, ['--import', './dist/tracing.js', path.join(ROOT, 'dist', 'main.js')], {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        AUTH_ISSUER_URL: op.issuer,
        AUTH_AUDIENCE: op.audience,
        LOG_LEVEL: 'info',
        LOG_PRETTY: 'false',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_SERVICE_NAME: 'order-flow-e2e',
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await eventually(
      async () => (await request(url).get('/health/ready')).body?.details?.consumers?.groups,
      (groups) => !!groups && Object.keys(GROUP_TOPICS).every((g) => groups[g]?.state === 'connected'),
      { timeoutMs: 60000, intervalMs: 250, what: `the traced service to run every consumer group (${output.slice(-1000)})` },
    );
  }, 90000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const closed = new Promise((resolve) => child.once('close', resolve));
      child.kill('SIGTERM');
      await closed;
    }
    await op?.close();
    await receiver?.close();
  });

  it('exports the POST, Express, mysql2, relay and consumer spans of one order in one trace, and logs its trace_id', async () => {
    const token = await issueTestToken({ issuer: op.issuer });
    const res = await request(url)
      .post('/api/orders')
      .set({ Authorization: `Bearer ${token}` })
      .send(validOrderBody())
      .expect(202);
    const orderId = res.body.orderId as string;
    await eventually(
      () =>
        request(url)
          .get(`/api/orders/${orderId}/status`)
          .set({ Authorization: `Bearer ${token}` }),
      (r) => r.body?.status === 'SHIPPED',
      { timeoutMs: 30000, what: `order ${orderId} SHIPPED` },
    );

    const groupsOf = (spans: ExportedSpan[]) =>
      new Set(spans.filter((s) => s.kind === 5 && s.attributes['order_flow.order_id'] === orderId).map((s) => s.attributes['messaging.consumer.group.name']));
    const intake = await eventually(async () => receiver.spans.find((s) => s.kind === 5 && s.attributes['order_flow.order_id'] === orderId), Boolean, {
      what: `a consumer span of order ${orderId} exported`,
    });
    const traceId = intake!.traceId;
    // Parents end after their children: the trace is whole once every span but its root has its parent.
    const loose = (spans: ExportedSpan[]) => {
      const ids = new Set(spans.map((s) => s.spanId));
      return spans.filter((s) => !ids.has(s.parentSpanId));
    };
    const spans = await eventually(
      async () => receiver.spans.filter((s) => s.traceId === traceId),
      (s) => ['order-flow-intake', 'order-flow-inventory', 'order-flow-payment', 'order-flow-shipping'].every((g) => groupsOf(s).has(g)) && loose(s).length === 1,
      { what: `every group's span in trace ${traceId}, and every parent` },
    ).catch((err: Error) => {
      const all = receiver.spans.filter((s) => s.traceId === traceId);
      throw new Error(
        `${err.message.slice(0, 200)}; spans without their parent: ${loose(all)
          .map((s) => `${s.scope} ${s.name} <- ${s.parentSpanId}`)
          .join(', ')}`,
      );
    });

    expect(receiver.contentTypes).toEqual(new Set(['application/x-protobuf']));
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['order-flow-e2e']));
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    // The trace starts at the HTTP server span of the POST, and everything else hangs under it.
    const [post] = loose(spans);
    expect(post).toMatchObject({ scope: '@opentelemetry/instrumentation-http', kind: 2, parentSpanId: '' });
    expect(post.attributes['http.request.method'] ?? post.attributes['http.method']).toBe('POST');
    const scopes = new Set(spans.map((s) => s.scope));
    for (const scope of ['@opentelemetry/instrumentation-http', '@opentelemetry/instrumentation-express', '@opentelemetry/instrumentation-mysql2', 'order-flow']) {
      expect(scopes).toContain(scope);
    }
    // mysql2 queries both in the request and in the handling of a message.
    const underOf = (s: ExportedSpan): ExportedSpan[] => {
      const up: ExportedSpan[] = [];
      for (let at = byId.get(s.parentSpanId); at; at = byId.get(at.parentSpanId)) up.push(at);
      return up;
    };
    const queries = spans.filter((s) => s.scope === '@opentelemetry/instrumentation-mysql2');
    expect(queries.some((q) => underOf(q).every((s) => s.kind !== 5))).toBe(true);
    expect(queries.some((q) => underOf(q).some((s) => s.kind === 5 && s.attributes['messaging.consumer.group.name'] === 'order-flow-inventory'))).toBe(true);

    // Probes are not traced (the readiness probe was polled until the service was up).
    expect(receiver.spans.filter((s) => /^\/(health|metrics)/.test(String(s.attributes['url.path'] ?? s.attributes['http.target'] ?? '')))).toEqual([]);
    console.log(`one order's trace: ${spans.length} spans (${[...scopes].map((scope) => `${scope} ${spans.filter((s) => s.scope === scope).length}`).join(', ')})`);

    // The access log line of the POST carries the trace's ids next to its correlation id.
    const lines = output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const traced = lines.filter((l) => l.trace_id === traceId);
    expect(traced.every((l) => typeof l.span_id === 'string' && /^[0-9a-f]{16}$/.test(l.span_id))).toBe(true);
    expect(traced.find((l) => l.msg === 'request completed')).toMatchObject({ correlationId: res.headers['x-correlation-id'] });
  });
});
