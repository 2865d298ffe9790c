#!/usr/bin/env node
// `npm run bench:status`: drives GET /api/orders/{id}/status on a running service (start it with
// `npm start`, with or without REDIS_URL) and prints the achieved rate, latency p50/p95/p99/max, the
// errors, the database's queries/s over the run and, when the service caches reads, the cache's hits
// and misses (from its /metrics).
//
// Settings: BENCH_URL (http://localhost:3000), BENCH_ORDERS (1000: the newest orders are read; any
// missing are created first, at 200/s), BENCH_RATE (requests/s offered, open loop, 2000), BENCH_SECONDS
// (30), BENCH_CONNECTIONS (kept-alive connections at most, 64), BENCH_CONDITIONAL (true: each request
// sends the ETag last seen for its order in If-None-Match, so unchanged orders answer 304),
// BENCH_METRICS_URL (BENCH_URL/metrics), DATABASE_URL (the service's database: orders and its
// query counters), AUTH_ISSUER_URL (the local provider by default; a token of the demo client).
//
// The service limits each client to RATE_LIMIT_PER_MINUTE (6000 by default): start it with
// RATE_LIMIT_PER_MINUTE=1000000 or the run measures 429s. The database's counters are global: other
// clients of the same server count too, so run it on a quiet machine.
import { createHttpClient, ensureBenchProducts, offer, orderBody, problemTitle } from './lib/load.mjs';
import { connectDatabase } from './lib/database.mjs';
import { issueTestToken } from './oidc-provider.mjs';

const url = process.env.BENCH_URL ?? 'http://localhost:3000';
const orders = Number(process.env.BENCH_ORDERS ?? 1000);
const rate = Number(process.env.BENCH_RATE ?? 2000);
const seconds = Number(process.env.BENCH_SECONDS ?? 30);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);
const conditional = process.env.BENCH_CONDITIONAL === 'true';
const metricsUrl = process.env.BENCH_METRICS_URL ?? new URL('/metrics', url).toString();
const dbUrl = new URL(process.env.DATABASE_URL ?? 'mariadb://root@127.0.0.1:3306/order_flow');
const CREATE_RATE = 200;

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
const ms = (v) => `${v.toFixed(1)} ms`;

const db = await connectDatabase(dbUrl);
const token = await issueTestToken({ issuer: process.env.AUTH_ISSUER_URL ?? 'http://127.0.0.1:4000' });
const headers = { authorization: `Bearer ${token}` };
const client = createHttpClient({ maxSockets: connections, timeoutMs: 10000 });

const ids = await orderIds();
console.log(`order-flow status bench: GET /api/orders/{id}/status on ${ids.length} orders, ${rate}/s offered for ${seconds} s to ${url}${conditional ? ' (If-None-Match)' : ''}`);
await client.openConnections(url, Math.min(connections, 64));

const etags = new Map();
const latencies = [];
const statuses = new Map();
const errors = new Map();
const cacheBefore = await cacheCounts();
const questionsBefore = await dbCounters();
const startedAt = performance.now();
await offer(Math.round(rate * seconds), rate, (i) => readStatus(ids[i % ids.length]), {
  onAnswer: (i, res, latencyMs) => {
    latencies.push(latencyMs);
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    if (res.status !== 200 && res.status !== 304) count(errors, `${res.status} ${problemTitle(res.body)}`);
  },
  onError: (_i, err) => count(errors, err.code ?? err.message),
});
const elapsedS = (performance.now() - startedAt) / 1000;
const questionsAfter = await dbCounters();
const cacheAfter = await cacheCounts();
report();
client.destroy();
await db.end();

/** The newest `orders` orders; those missing are created first. */
async function orderIds() {
  const [rows] = await db.query('SELECT id FROM orders ORDER BY created_at DESC LIMIT ?', [orders]);
  const found = rows.map((r) => r.id);
  if (found.length >= orders) return found;
  await ensureBenchProducts(db);
  const missing = orders - found.length;
  console.log(`creating ${missing} orders at ${CREATE_RATE}/s`);
  const target = new URL('/api/orders', url);
  const created = [];
  await offer(
    missing,
    CREATE_RATE,
    (i) => {
      const payload = orderBody(i);
      return client.send(target, { method: 'POST', headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, payload);
    },
    {
      onAnswer: (_i, res) => {
        if (res.status !== 202) throw new Error(`POST /api/orders answered ${res.status}: ${problemTitle(res.body)}`);
        created.push(JSON.parse(res.body).orderId);
      },
      onError: (_i, err) => console.error(`  order not created: ${err.message}`),
    },
  );
  return [...found, ...created];
}

/** One status read; with BENCH_CONDITIONAL, conditional on the ETag last seen for the order. */
async function readStatus(orderId) {
  const etag = conditional ? etags.get(orderId) : undefined;
  const res = await client.send(new URL(`/api/orders/${orderId}/status`, url), { method: 'GET', headers: etag ? { ...headers, 'if-none-match': etag } : headers });
  if (conditional && res.status === 200) etags.set(orderId, res.headers.etag);
  return res;
}

/** Statements the database server answered (Questions) and SELECTs among them (Com_select), since it started. */
async function dbCounters() {
  const [rows] = await db.query("SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions', 'Com_select')");
  return Object.fromEntries(rows.map((r) => [r.Variable_name, Number(r.Value)]));
}

/** The service's read cache counters by result, from its /metrics; empty when it has none or cannot be read. */
async function cacheCounts() {
  try {
    const text = await (await fetch(metricsUrl)).text();
    const counts = {};
    for (const m of text.matchAll(/^order_flow_status_cache_requests_total\{result="(\w+)"\} (\d+)/gm)) counts[m[1]] = Number(m[2]);
    return counts;
  } catch {
    return {};
  }
}

function count(map, key) {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function report() {
  const sorted = latencies.sort((a, b) => a - b);
  const answered = sorted.length;
  const failed = [...errors.values()].reduce((a, b) => a + b, 0);
  const byStatus = [...statuses].map(([s, n]) => `${s}: ${n}`).join(', ');
  const questions = questionsAfter.Questions - questionsBefore.Questions;
  const selects = questionsAfter.Com_select - questionsBefore.Com_select;
  console.log(`achieved           ${(answered / elapsedS).toFixed(0)} answers/s over ${elapsedS.toFixed(1)} s (${byStatus || 'no answers'})`);
  console.log(`latency            p50 ${ms(pct(sorted, 50))}  p95 ${ms(pct(sorted, 95))}  p99 ${ms(pct(sorted, 99))}  max ${ms(sorted[answered - 1] ?? NaN)}`);
  console.log(`errors             ${failed}${failed ? ` (${[...errors].map(([k, n]) => `${k}: ${n}`).join('; ')})` : ''}`);
  console.log(`database           ${(questions / elapsedS).toFixed(0)} queries/s (Questions), ${(selects / elapsedS).toFixed(0)} SELECTs/s (Com_select)`);
  const results = Object.keys(cacheAfter);
  if (!results.length) console.log('read cache         none reported (no REDIS_URL, or /metrics not at BENCH_METRICS_URL)');
  else console.log(`read cache         ${results.map((r) => `${r} ${cacheAfter[r] - (cacheBefore[r] ?? 0)}`).join(', ')}`);
}
