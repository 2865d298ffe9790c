import type { Violation } from './invariants.js';

/**
 * The service's HTTP request counter: the `_count` series of its request-duration histogram
 * (src/platform/observability/metrics.service.ts), labelled by method, route and status code.
 */
export const HTTP_REQUESTS_HISTOGRAM = 'order_flow_http_request_duration_seconds';
const HTTP_REQUESTS_SERIES = `${HTTP_REQUESTS_HISTOGRAM}_count`;

export interface ServerErrorCount {
  method: string;
  route: string;
  status: number;
  count: number;
}

/** The 5xx answers other than 503 (overload, a dependency down: allowed) in a Prometheus text exposition. */
export function serverErrorsIn(exposition: string): { exposed: boolean; errors: ServerErrorCount[] } {
  // The histogram's TYPE line is there from the start, before any request has been counted.
  const exposed = exposition.includes(`# TYPE ${HTTP_REQUESTS_HISTOGRAM} histogram`);
  const errors: ServerErrorCount[] = [];
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(`${HTTP_REQUESTS_SERIES}{`)) continue;
    const close = line.lastIndexOf('}');
    const labels = Object.fromEntries([...line.slice(0, Math.max(close, 0)).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    const count = Number(
      line
        .slice(close + 1)
        .trim()
        .split(/\s+/)[0],
    );
    const status = Number(labels.status_code);
    if (status >= 500 && status !== 503 && count > 0) errors.push({ method: labels.method ?? '?', route: labels.route ?? '?', status, count });
  }
  return { exposed, errors };
}

/**
 * I7: reads each process's /metrics and reports every 5xx other than 503. Throws when a URL cannot
 * be read or exposes no HTTP request counter (could not check): a wrong URL must not pass as clean.
 */
export async function checkHttpErrors(metricsUrls: string[], timeoutMs = 5000): Promise<Violation[]> {
  const out: Violation[] = [];
  for (const url of metricsUrls) {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`${url} answered ${res.status}`);
    const { exposed, errors } = serverErrorsIn(await res.text());
    if (!exposed) throw new Error(`${url} exposes no ${HTTP_REQUESTS_HISTOGRAM}`);
    for (const e of errors) out.push({ invariant: 'I7', orderIds: [], detail: `${url}: ${e.count} × ${e.status} on ${e.method} ${e.route}` });
  }
  return out;
}
