import request from 'supertest';
import { MetricsServer } from '../../../src/platform/observability/metrics.server.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';

/** METRICS_PORT (docs/architecture.md §10): /metrics on a port of its own, and no longer on the API port. */
describe('GET /metrics with METRICS_PORT set', () => {
  let t: TestApp;
  let metricsUrl: string;

  beforeAll(async () => {
    // 0: a free port, picked when the service starts.
    t = await startTestApp({ layers: ['experience'], groups: [], env: { METRICS_PORT: '0' } });
    metricsUrl = `http://127.0.0.1:${t.app.get(MetricsServer).port}`;
  });
  afterAll(async () => {
    await t?.close();
    delete process.env.METRICS_PORT;
  });

  it('serves the Prometheus text format on the metrics port', async () => {
    const res = await request(metricsUrl).get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.text).toContain('# TYPE process_cpu_seconds_total counter');
    expect(res.text).toContain('# TYPE order_flow_http_request_duration_seconds histogram');
    expect(res.text).toContain('# TYPE order_flow_orders gauge');
  });

  it('serves nothing else there', async () => {
    await request(metricsUrl).get('/api/orders').expect(404);
    await request(metricsUrl).get('/health/live').expect(404);
    await request(metricsUrl).post('/metrics').expect(404);
  });

  it('no longer serves /metrics on the API port, which still serves the API and the probes', async () => {
    await request(t.url).get('/metrics').expect(404);
    await request(t.url).get('/health/live').expect(200);
    await t.get('/api/orders/00000000-0000-4000-8000-000000000000').expect(404);
    // The API port's traffic is still timed, and shows on the metrics port.
    const { text } = await request(metricsUrl).get('/metrics').expect(200);
    expect(text).toMatch(/^order_flow_http_request_duration_seconds_count\{[^}]*route="\/api\/orders\/:orderId"[^}]*\} [1-9]/m);
  });
});
