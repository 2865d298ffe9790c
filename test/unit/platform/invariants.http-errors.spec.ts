import { serverErrorsIn } from '../../../src/platform/invariants/http-errors.check.js';

const exposition = (...samples: string[]) =>
  [
    '# HELP order_flow_http_request_duration_seconds HTTP request duration by method, route pattern and status code',
    '# TYPE order_flow_http_request_duration_seconds histogram',
    ...samples,
  ].join('\n');

describe('I7: server errors in a Prometheus exposition', () => {
  it('counts 5xx other than 503 per series, from the _count samples only', () => {
    const text = exposition(
      'order_flow_http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/api/orders",status_code="500"} 3',
      'order_flow_http_request_duration_seconds_count{method="POST",route="/api/orders",status_code="500"} 3',
      'order_flow_http_request_duration_seconds_count{method="GET",route="/api/orders/:orderId",status_code="503"} 7',
      'order_flow_http_request_duration_seconds_count{method="GET",route="/api/orders/:orderId",status_code="502"} 1',
      'order_flow_http_request_duration_seconds_count{method="GET",route="/api/orders/:orderId",status_code="200"} 90',
      'order_flow_http_request_duration_seconds_count{method="GET",route="unmatched",status_code="404"} 2',
      'order_flow_http_request_duration_seconds_count{method="PUT",route="/x",status_code="504"} 0',
    );
    expect(serverErrorsIn(text)).toEqual({
      exposed: true,
      errors: [
        { method: 'POST', route: '/api/orders', status: 500, count: 3 },
        { method: 'GET', route: '/api/orders/:orderId', status: 502, count: 1 },
      ],
    });
  });

  it('labels in any order, with escaped quotes in a value', () => {
    const text = exposition('order_flow_http_request_duration_seconds_count{status_code="500",route="/a\\"b",method="GET"} 1');
    expect(serverErrorsIn(text).errors).toEqual([{ method: 'GET', route: '/a\\"b', status: 500, count: 1 }]);
  });

  it('a process that has answered nothing yet exposes the histogram and no error; another exposition does not', () => {
    expect(serverErrorsIn(exposition())).toEqual({ exposed: true, errors: [] });
    expect(serverErrorsIn('# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1').exposed).toBe(false);
  });
});
