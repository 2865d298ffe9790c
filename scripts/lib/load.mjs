// The request generator shared by `npm run bench` and `npm run chaos`: the benchmark's own products,
// the order bodies, a kept-alive HTTP client, and an open-loop offer of orders at a fixed rate.
// Only node: built-ins here.
import http from 'node:http';

/** Products of the benchmark's own, with ample stock, so stock never limits a run. */
export const BENCH_PRODUCTS = Array.from({ length: 10 }, (_, i) => `BENCH-${i + 1}`);

/** Creates the benchmark products (or tops their stock up) through a mysql2 connection. */
export async function ensureBenchProducts(db, products = BENCH_PRODUCTS) {
  await db.query(
    `INSERT INTO products (product_id, name, unit_price, currency, stock_on_hand, stock_reserved) VALUES ${products.map(() => '(?, ?, 9.99, ?, 10000000, 0)').join(',')} ON DUPLICATE KEY UPDATE stock_on_hand = GREATEST(stock_on_hand, 10000000)`,
    products.flatMap((p) => [p, `Benchmark ${p}`, 'EUR']),
  );
}

/** The body of the i-th order: 500 customers, one line of 1-3 units of one of the products. */
export function orderBody(i, products = BENCH_PRODUCTS) {
  return JSON.stringify({
    customer: { id: `bench-${i % 500}`, name: 'Bench Customer', email: `bench${i % 500}@example.com` },
    shippingAddress: { line1: '1 Load Street', city: 'Amsterdam', postalCode: '1011AA', country: 'NL' },
    items: [{ productId: products[i % products.length], quantity: 1 + (i % 3) }],
  });
}

/**
 * A client over kept-alive connections. The load generator shares the machine with what it
 * measures, so it should cost as little as it can: plain node:http costs about a third of what
 * fetch() does per request. `timeoutMs` (none by default) fails a request that has no answer by then
 * with code ETIMEDOUT, so a hung server cannot hold the generator.
 */
export function createHttpClient({ maxSockets = 256, timeoutMs } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  let opened = 0;
  /** One request through the agent; resolves with the status, the headers and the body. */
  function send(to, options, payload) {
    return new Promise((resolve, reject) => {
      const req = http.request(to, { agent, ...options }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('socket', () => {
        if (!req.reusedSocket) opened += 1;
      });
      if (timeoutMs) req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end(payload);
    });
  }
  return {
    agent,
    send,
    /** Connections the agent opened (not reused) since the last reset. */
    get connectionsOpened() {
      return opened;
    },
    resetConnectionsOpened() {
      opened = 0;
    },
    /** Connections open and idle in the agent. */
    idleConnections() {
      return Object.values(agent.freeSockets).reduce((sum, sockets) => sum + sockets.length, 0);
    },
    /** Opens `n` kept-alive connections to `baseUrl` (n requests at once to the liveness probe). */
    async openConnections(baseUrl, n) {
      const probe = new URL('/health/live', baseUrl);
      await Promise.all(Array.from({ length: n }, () => send(probe, { method: 'GET' })));
    },
    destroy() {
      agent.destroy();
    },
  };
}

/**
 * Offers `n` requests at `perSecond`, open loop: the i-th leaves at its scheduled time, whatever the
 * earlier ones are doing. `request(i)` sends it; `onAnswer(i, res, latencyMs)` and `onError(i, err)`
 * see each outcome (an error thrown by `onAnswer` goes to `onError`). `stop()`, when given, ends the offer early once it returns true.
 * Resolves with how many were offered once every request has settled.
 */
export async function offer(n, perSecond, request, { onAnswer = () => {}, onError = () => {}, stop } = {}) {
  let pending = 0;
  let offered = 0;
  let settle;
  const settled = new Promise((r) => (settle = r));
  const done = () => {
    pending -= 1;
    if (pending === 0 && offered === -1) settle();
  };
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    const due = t + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    if (stop?.()) break;
    const t0 = performance.now();
    pending += 1;
    offered += 1;
    request(i)
      .then((res) => onAnswer(i, res, performance.now() - t0))
      .catch((err) => onError(i, err))
      .finally(done);
  }
  const total = offered;
  offered = -1;
  if (pending > 0) await settled;
  return total;
}

/** The title (and detail) of a problem+json body, or its first characters. */
export function problemTitle(body) {
  try {
    const p = JSON.parse(body);
    return [p.title, p.detail].filter(Boolean).join(': ');
  } catch {
    return body.slice(0, 120);
  }
}
