// The chaos suite's load: the bench's generator (scripts/lib/load.mjs) spread over the service
// processes that are up, like a load balancer that takes a process out when the suite stops it.
import { randomUUID } from 'node:crypto';
import { createHttpClient, offer, orderBody } from '../lib/load.mjs';

export class Load {
  /**
   * @param {{ token: string, targets: () => Array<{ url: string }>, rate: number, count: number,
   *   timeoutMs?: number, request?: (i: number) => { body: string, headers?: object, valid?: boolean } }} options
   *   request: what the i-th request sends (the bench's order bodies by default); `valid: false` marks
   *   a body that must never become an order.
   */
  constructor({ token, targets, rate, count, timeoutMs = 30000, request }) {
    Object.assign(this, { token, targets, rate, count });
    this.request = request ?? ((i) => ({ body: orderBody(i) }));
    this.client = createHttpClient({ maxSockets: 512, timeoutMs });
    /** Answers and errors by key (HTTP status, or the error's code). */
    this.answers = new Map();
    /** Accepted orders: { orderId, at (ms), valid, i (the request's index) }. */
    this.accepted = [];
    /** POST latencies of answered requests, with when they left: [atMs, latencyMs]. */
    this.latencies = [];
    /** Answers per second since the start: [{ second, key, n }] kept as a map of maps. */
    this.perSecond = new Map();
    /** 5xx answers: { i, status, body } (what was sent is request(i)). */
    this.serverErrors = [];
    this.offered = 0;
    this.stopped = false;
    this.rr = 0;
  }

  start() {
    this.startedAt = Date.now();
    this.done = offer(this.count, this.rate, (i) => this.send(i), {
      onAnswer: (i, res, latencyMs) => this.answer(i, res, latencyMs),
      // Where a connection failed says more than how (a process being stopped, or one still serving).
      onError: (i, err) => this.record(err.target ? `${err.code ?? err.message} from ${err.target}` : (err.code ?? err.message)),
      stop: () => this.stopped,
    }).then((offered) => {
      this.offered = offered;
      this.endedAt = Date.now();
      this.client.destroy();
      return this;
    });
    return this;
  }

  stop() {
    this.stopped = true;
    return this.done;
  }

  send(i) {
    const up = this.targets();
    if (!up.length) return Promise.reject(Object.assign(new Error('no process up'), { code: 'NO_PROCESS_UP' }));
    const target = up[this.rr++ % up.length];
    const { body, headers = {}, valid = true } = this.request(i);
    const sentAt = Date.now();
    return this.client
      .send(
        new URL('/api/orders', target.url),
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${this.token}`,
            'x-correlation-id': `chaos-${randomUUID()}`,
            'content-length': Buffer.byteLength(body),
            ...headers,
          },
        },
        body,
      )
      .then(
        (res) => Object.assign(res, { sentAt, valid, i }),
        (err) => {
          throw Object.assign(err, { target: target.name });
        },
      );
  }

  answer(i, res, latencyMs) {
    this.latencies.push([res.sentAt, latencyMs]);
    if (res.status >= 500) this.serverErrors.push({ i: res.i, status: res.status, body: res.body.slice(0, 300) });
    this.record(res.status);
    if (res.status === 202) {
      let orderId = null;
      try {
        orderId = JSON.parse(res.body).orderId;
      } catch {
        // a 202 without an order id: counted, and the checker finds no order for it
      }
      this.accepted.push({ orderId, at: res.sentAt, valid: res.valid, i: res.i });
    }
  }

  record(key) {
    key = String(key);
    this.answers.set(key, (this.answers.get(key) ?? 0) + 1);
    const second = Math.floor((Date.now() - this.startedAt) / 1000);
    let s = this.perSecond.get(second);
    if (!s) this.perSecond.set(second, (s = new Map()));
    s.set(key, (s.get(key) ?? 0) + 1);
  }

  /** Answers other than `keys` between two times (ms since the epoch). */
  answersBetween(from, to) {
    const out = new Map();
    for (const [second, s] of this.perSecond) {
      const at = this.startedAt + second * 1000;
      if (at < from || at >= to) continue;
      for (const [k, n] of s) out.set(k, (out.get(k) ?? 0) + n);
    }
    return out;
  }
}

/** `202 × 100, 503 × 3` */
export function formatCounts(map) {
  const entries = [...map].sort(([a], [b]) => String(a).localeCompare(String(b)));
  return entries.length ? entries.map(([k, n]) => `${k} × ${n}`).join(', ') : 'none';
}
