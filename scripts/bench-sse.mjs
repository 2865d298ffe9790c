#!/usr/bin/env node
// `npm run bench:sse`: holds BENCH_STREAMS live status streams (GET /api/orders/{id}/events) open
// against a running service for BENCH_SECONDS, and prints the open streams, the events received per
// second and the errors, with the service's resident memory (its /metrics) before and after. Run it
// beside `npm run bench` to see what the streams cost the intake (docs/order-events.md).
//
// The streams follow orders that can still change: open ones found in the service's database, and
// new ones it creates (POST /api/orders) for the rest. A stream the service ends (its order became
// final) is counted as closed, not reopened: to hold every stream for the whole run, start the
// service with a delivery delay longer than the run (e.g. SHIPPING_DELIVERY_DELAY_MS=600000), since a
// delivered order's stream ends (the default dev profile delivers 30 s after shipping).
//
// Settings: BENCH_URL (http://localhost:3000), BENCH_STREAMS (1000), BENCH_SECONDS (60),
// BENCH_CREATE_RATE (orders/s created when open ones are short, 100), BENCH_METRICS_URL
// (BENCH_URL/metrics), DATABASE_URL (read for open orders; skipped when unreachable), AUTH_ISSUER_URL
// (the local provider by default; a token is fetched with the demo client, which sees every order).
import http from 'node:http';
import { createHttpClient, ensureBenchProducts, offer, orderBody } from './lib/load.mjs';
import { connectDatabase } from './lib/database.mjs';
import { issueTestToken } from './oidc-provider.mjs';

const url = process.env.BENCH_URL ?? 'http://localhost:3000';
const wanted = Number(process.env.BENCH_STREAMS ?? 1000);
const seconds = Number(process.env.BENCH_SECONDS ?? 60);
const createRate = Number(process.env.BENCH_CREATE_RATE ?? 100);
const metricsUrl = process.env.BENCH_METRICS_URL ?? `${url}/metrics`;
const dbUrl = new URL(process.env.DATABASE_URL ?? 'mariadb://root@127.0.0.1:3306/order_flow');
const token = await issueTestToken({ issuer: process.env.AUTH_ISSUER_URL ?? 'http://127.0.0.1:4000' });

const stats = { open: 0, opened: 0, closedByServer: 0, events: 0, heartbeats: 0, errors: new Map() };
const countError = (what) => stats.errors.set(what, (stats.errors.get(what) ?? 0) + 1);

/** The service's resident memory in MiB, from its /metrics (null when it cannot be read). */
async function rssMiB() {
  try {
    const text = await (await fetch(metricsUrl)).text();
    const line = text.split('\n').find((l) => l.startsWith('process_resident_memory_bytes '));
    return line ? Number(line.split(' ')[1]) / 2 ** 20 : null;
  } catch {
    return null;
  }
}

/** Up to `n` orders that can still change, from the service's database (none when it cannot be read). */
async function openOrders(db, n) {
  if (!db) return [];
  const [rows] = await db.query(
    `SELECT id FROM orders WHERE status NOT IN ('INVENTORY_FAILED', 'PAYMENT_FAILED', 'SHIPPING_FAILED', 'CANCELLED')
       AND (shipment_status IS NULL OR shipment_status NOT IN ('DELIVERED', 'FAILED', 'CANCELLED')) ORDER BY id DESC LIMIT ?`,
    [n],
  );
  return rows.map((r) => r.id);
}

/** `n` new orders, created at `createRate` per second. */
async function createOrders(db, n) {
  if (!n) return [];
  if (db) await ensureBenchProducts(db);
  const client = createHttpClient();
  const ids = [];
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  await offer(n, createRate, (i) => client.send(`${url}/api/orders`, { method: 'POST', headers }, orderBody(i)), {
    onAnswer: (_, { status, body }) => (status === 202 ? ids.push(JSON.parse(body).orderId) : countError(`POST ${status}`)),
    onError: (_, err) => countError(`POST ${err.code ?? err.message}`),
  });
  return ids;
}

const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

/** Opens one stream and counts what it receives; resolves with its request (to end it). */
function openStream(orderId) {
  return new Promise((resolve) => {
    const req = http.get(`${url}/api/orders/${orderId}/events`, { agent, headers: { Accept: 'text/event-stream', Authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) {
        countError(`GET ${res.statusCode}`);
        res.resume();
        return resolve(req);
      }
      stats.open += 1;
      stats.opened += 1;
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        stats.events += chunk.split('\nevent: ').length - 1;
        stats.heartbeats += chunk.split(': keep-alive\n').length - 1;
      });
      res.on('end', () => (stats.closedByServer += req.destroyed ? 0 : 1));
      res.on('close', () => (stats.open -= 1));
      resolve(req);
    });
    req.on('error', (err) => {
      if (!req.destroyed || err.code !== 'ECONNRESET') countError(`GET ${err.code ?? err.message}`);
      resolve(req);
    });
  });
}

let db = null;
try {
  db = await connectDatabase(dbUrl);
} catch (err) {
  console.log(`database not readable (${err.message}): every order is created`);
}
const reused = await openOrders(db, wanted);
const created = await createOrders(db, wanted - reused.length);
const orderIds = [...reused, ...created];
console.log(`${orderIds.length} orders (${reused.length} open ones found, ${created.length} created); opening ${orderIds.length} streams`);

const rssBefore = await rssMiB();
const requests = await Promise.all(orderIds.map(openStream));
const start = Date.now();
let lastEvents = 0;
const ticker = setInterval(() => {
  console.log(
    `  ${Math.round((Date.now() - start) / 1000)} s: ${stats.open} open, ${stats.events - lastEvents} events in the last second, ${[...stats.errors.values()].reduce((a, b) => a + b, 0)} errors`,
  );
  lastEvents = stats.events;
}, 1000);
await new Promise((r) => setTimeout(r, seconds * 1000));
clearInterval(ticker);
const openAtEnd = stats.open;
const rssAfter = await rssMiB();
for (const req of requests) req.destroy();
await db?.end();

const mib = (v) => (v === null ? 'n/a' : `${v.toFixed(1)} MiB`);
console.log(`streams: ${stats.opened} opened, ${openAtEnd} open at the end, ${stats.closedByServer} ended by the service (order final)`);
console.log(`events: ${stats.events} (${(stats.events / seconds).toFixed(1)}/s), heartbeats: ${stats.heartbeats}`);
console.log(`errors: ${stats.errors.size ? [...stats.errors].map(([what, n]) => `${what} ×${n}`).join(', ') : 'none'}`);
console.log(`service RSS: ${mib(rssBefore)} before the streams, ${mib(rssAfter)} with them open`);
