#!/usr/bin/env node
// `npm run bench:list`: the latency of GET /api/orders (the listing) on a large table. Seeds
// BENCH_SEED_ORDERS orders (100,000) straight into the service's database when they are not there yet,
// then offers BENCH_RATE listing requests/s (100) for BENCH_SECONDS (60), open loop (each leaves at
// its time, whatever the earlier ones do) over kept-alive connections, and prints p50/p95/p99/max per
// kind of request and overall, with the errors. Target: p95 ≤ 20 ms (docs/benchmarks.md).
//
// The mix: first pages (35 %), the next page through a cursor an earlier answer gave (20 %), a status
// filter (15 %), a day's date range (15 %), a customer's email (15 %), as the partner and reader demo
// clients (their own orders) and the dev client (orders.admin: every client's).
//
// The seed (bulk INSERTs, a few seconds): orders of five clients (the three demo clients and two that
// only fill the table), 1,000 customers each, spread over the last 30 days, in terminal statuses, each
// id a UUIDv7 of its creation time, as the intake writes them. They are listing data only: no lines,
// history or saga state, and terminal, so the saga never picks them up; seed a database of the
// benchmark's own (`npm run db -- setup` creates one) rather than one whose invariants you check.
// Seeded orders carry the correlation id `bench-list`; a run tops them up to BENCH_SEED_ORDERS.
//
// Settings: BENCH_URL (http://localhost:3000), AUTH_ISSUER_URL (http://127.0.0.1:4000), DATABASE_URL
// (mariadb://root@127.0.0.1:3306/order_flow: the service's database), BENCH_RATE (100), BENCH_SECONDS
// (60), BENCH_SEED_ORDERS (100000), BENCH_CONNECTIONS (16 kept-alive connections opened first).
import os from 'node:os';
import { v7 } from 'uuid';
import { createHttpClient, offer, problemTitle } from './lib/load.mjs';
import { connectDatabase } from './lib/database.mjs';
import { issueTestToken } from './oidc-provider.mjs';

const url = process.env.BENCH_URL ?? 'http://localhost:3000';
const issuer = process.env.AUTH_ISSUER_URL ?? 'http://127.0.0.1:4000';
const rate = Number(process.env.BENCH_RATE ?? 100);
const seconds = Number(process.env.BENCH_SECONDS ?? 60);
const seedOrders = Number(process.env.BENCH_SEED_ORDERS ?? 100_000);
const preopen = Number(process.env.BENCH_CONNECTIONS ?? 16);
const dbUrl = new URL(process.env.DATABASE_URL ?? 'mariadb://root@127.0.0.1:3306/order_flow');

const SEED_TAG = 'bench-list';
const DAYS = 30;
const DAY_MS = 86_400_000;
const CUSTOMERS_PER_CLIENT = 1000;
/** Who owns the seeded orders, and how many of them. Only the demo clients can ask for theirs. */
const OWNERS = [
  { clientId: 'order-flow-partner', share: 0.4 },
  { clientId: 'order-flow-reader', share: 0.2 },
  { clientId: 'order-flow-dev', share: 0.1 },
  { clientId: 'bench-shop-1', share: 0.2 },
  { clientId: 'bench-shop-2', share: 0.1 },
];
/** Terminal statuses (so the saga never touches them), with their share and reason. */
const STATUSES = [
  { status: 'SHIPPED', share: 0.78, reason: null },
  { status: 'PAYMENT_FAILED', share: 0.1, reason: 'PAYMENT_DECLINED' },
  { status: 'SHIPPING_FAILED', share: 0.06, reason: 'CARRIER_REJECTED' },
  { status: 'INVENTORY_FAILED', share: 0.04, reason: 'OUT_OF_STOCK' },
  { status: 'CANCELLED', share: 0.02, reason: 'CANCELLED_BY_CLIENT' },
];
/** Who asks: a client with its secret and what it may read. */
const CALLERS = [
  { clientId: 'order-flow-partner', clientSecret: 'partner-secret', scope: 'orders.read', share: 0.5 },
  { clientId: 'order-flow-reader', clientSecret: 'reader-secret', scope: 'orders.read', share: 0.3 },
  { clientId: 'order-flow-dev', clientSecret: 'dev-secret', scope: 'orders.read orders.admin', share: 0.2 },
];

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
const ms = (v) => (v === undefined ? '-' : `${v.toFixed(1)} ms`);
const random = (n) => Math.floor(Math.random() * n);
/** One of `choices` by their `share`. */
const pick = (choices) => {
  let r = Math.random();
  for (const c of choices) if ((r -= c.share) < 0) return c;
  return choices.at(-1);
};
const emailOf = (clientId, n) => `customer${n}@${clientId}.bench.example`;

const db = await connectDatabase(dbUrl);

/** The benchmark's customers (1,000 per owner, keyed by email as the intake does); their ids by owner. */
async function seedCustomers() {
  const rows = OWNERS.flatMap(({ clientId }) =>
    Array.from({ length: CUSTOMERS_PER_CLIENT }, (_, n) => [v7(), clientId, `email:${emailOf(clientId, n)}`, `Customer ${n}`, emailOf(clientId, n)]),
  );
  for (let i = 0; i < rows.length; i += 2000) {
    await db.query('INSERT IGNORE INTO customers (id, client_id, customer_key, name, email) VALUES ?', [rows.slice(i, i + 2000)]);
  }
  const ids = new Map(OWNERS.map(({ clientId }) => [clientId, []]));
  const [found] = await db.query(`SELECT id, client_id FROM customers WHERE customer_key LIKE 'email:customer%.bench.example'`);
  for (const r of found) ids.get(r.client_id)?.push(r.id);
  return ids;
}

/** One seeded order row, created `at`: the columns the intake writes, and the saga's final status. */
function orderRow(customers, at) {
  const { clientId } = pick(OWNERS);
  const { status, reason } = pick(STATUSES);
  const ids = customers.get(clientId);
  const created = new Date(at);
  return [
    v7({ msecs: at }),
    ids[random(ids.length)],
    clientId,
    status,
    reason,
    5,
    (1 + random(20000)) / 100,
    'EUR',
    '1 Load Street',
    'Amsterdam',
    '1011AA',
    'NL',
    SEED_TAG,
    created,
    new Date(at + 5000 + random(60_000)),
  ];
}

/** Tops the seeded orders up to `seedOrders`, in INSERTs of 5,000 rows. */
async function seed() {
  const [[{ n }]] = await db.query('SELECT COUNT(*) AS n FROM orders WHERE correlation_id = ?', [SEED_TAG]);
  const missing = seedOrders - Number(n);
  if (missing <= 0) return console.log(`seed               ${n} orders already there`);
  const started = performance.now();
  const customers = await seedCustomers();
  const now = Date.now();
  for (let done = 0; done < missing; done += 5000) {
    const rows = Array.from({ length: Math.min(5000, missing - done) }, () => orderRow(customers, now - random(DAYS * DAY_MS)));
    await db.query(
      `INSERT INTO orders (id, customer_id, client_id, status, status_reason, version, total, currency, ship_line1, ship_city, ship_postal_code, ship_country, correlation_id, created_at, updated_at) VALUES ?`,
      [rows],
    );
  }
  await db.query('ANALYZE TABLE orders, customers');
  console.log(`seed               ${missing} orders added (${seedOrders} in all) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

await seed();
await db.end();

const callers = await Promise.all(CALLERS.map(async (c) => ({ ...c, auth: `Bearer ${await issueTestToken({ issuer, ...c })}` })));
const client = createHttpClient({ maxSockets: 64, timeoutMs: 10_000 });
/** Recent answers' next pages: who asked, with which filters, and the cursor. */
const cursors = [];

/** A request of the mix: its kind, its caller and its query. */
function nextRequest() {
  const caller = pick(callers);
  const r = Math.random();
  if (r < 0.2 && cursors.length) {
    const next = cursors.splice(random(cursors.length), 1)[0];
    return { kind: 'next page', ...next };
  }
  const owner = caller.clientId === 'order-flow-dev' ? pick(OWNERS).clientId : caller.clientId;
  if (r < 0.55) return { kind: 'first page', caller, query: {} };
  if (r < 0.7) return { kind: 'status', caller, query: { status: pick(STATUSES).status } };
  if (r < 0.85) {
    const from = Date.now() - (1 + random(DAYS)) * DAY_MS;
    return { kind: 'date range', caller, query: { createdFrom: new Date(from).toISOString(), createdTo: new Date(from + DAY_MS).toISOString() } };
  }
  return { kind: 'email', caller, query: { customerEmail: emailOf(owner, random(CUSTOMERS_PER_CLIENT)) } };
}

function send({ caller, query, cursor }) {
  const target = new URL('/api/orders', url);
  for (const [k, v] of Object.entries({ ...query, ...(cursor ? { cursor } : {}) })) target.searchParams.set(k, v);
  return client.send(target, { method: 'GET', headers: { authorization: caller.auth } });
}

/**
 * The service's own view from its /metrics: CPU seconds, and its GET /api/orders timings by bucket
 * (upper bound in seconds → answers at most that slow), to tell its time from the wait for a CPU.
 */
async function serviceSnapshot() {
  const text = await fetch(new URL('/metrics', url))
    .then((r) => r.text())
    .catch(() => '');
  const buckets = new Map();
  for (const [, le, n] of text.matchAll(/^order_flow_http_request_duration_seconds_bucket\{le="([^"]+)",method="GET",route="\/api\/orders",status_code="200"\} (\d+)/gm)) {
    buckets.set(le, Number(n));
  }
  const cpu = Number(/^process_cpu_seconds_total (\S+)/m.exec(text)?.[1] ?? NaN);
  return { cpu, buckets };
}

/** What share of the run's answers the service itself gave within 5, 10, 25 and 50 ms, and its CPU per request. */
function serviceLine(before, after, answered) {
  const within = ['0.005', '0.01', '0.025', '0.05'].map((le) => {
    const n = (after.buckets.get(le) ?? 0) - (before.buckets.get(le) ?? 0);
    return `${((100 * n) / Math.max(1, answered)).toFixed(1)} % ≤ ${Number(le) * 1000} ms`;
  });
  const cpuMs = (1000 * (after.cpu - before.cpu)) / Math.max(1, answered);
  return `service            ${within.join(', ')} (its own timing); ${Number.isNaN(cpuMs) ? '-' : cpuMs.toFixed(2)} ms CPU per request`;
}

const total = Math.round(rate * seconds);
console.log(`order-flow bench:list: ${total} listing requests offered at ${rate}/s for ${seconds} s to ${url}`);
if (preopen > 0) await client.openConnections(url, preopen);
const latencies = new Map();
const errors = new Map();
const serviceBefore = await serviceSnapshot();
const requests = [];
const count = (map, key, value) => map.set(key, [...(map.get(key) ?? []), value]);
const started = performance.now();
await offer(
  total,
  rate,
  (i) => {
    requests[i] = nextRequest();
    return send(requests[i]);
  },
  {
    onAnswer: (i, res, latency) => {
      const req = requests[i];
      if (res.status !== 200) throw new Error(`${res.status} ${problemTitle(res.body)}`);
      count(latencies, req.kind, latency);
      const { nextCursor } = JSON.parse(res.body);
      if (nextCursor && cursors.length < 1000) cursors.push({ caller: req.caller, query: req.query, cursor: nextCursor });
    },
    onError: (i, err) => count(errors, `${requests[i].kind}: ${err.code ?? err.message}`, 1),
  },
);
client.destroy();
const elapsed = (performance.now() - started) / 1000;
const serviceAfter = await serviceSnapshot();

const line = (label, values) => {
  const sorted = [...values].sort((a, b) => a - b);
  console.log(
    `${label.padEnd(18)} ${String(sorted.length).padStart(6)} ok  p50 ${ms(pct(sorted, 50))}  p95 ${ms(pct(sorted, 95))}  p99 ${ms(pct(sorted, 99))}  max ${ms(sorted.at(-1))}`,
  );
};
const all = [...latencies.values()].flat();
const failed = [...errors.values()].reduce((sum, e) => sum + e.length, 0);
console.log(`offered            ${total} in ${elapsed.toFixed(1)} s = ${(total / elapsed).toFixed(1)} requests/s; ${failed} failed`);
for (const [reason, e] of errors) console.log(`  failed           ${e.length} × ${reason}`);
for (const [kind, values] of [...latencies].sort(([a], [b]) => a.localeCompare(b))) line(kind, values);
line('all', all);
console.log(serviceLine(serviceBefore, serviceAfter, all.length));
console.log(`machine            load average ${os.loadavg()[0].toFixed(2)} over the last minute, ${os.cpus().length} CPUs`);
const p95 = pct(
  [...all].sort((a, b) => a - b),
  95,
);
console.log(`target             p95 ≤ 20 ms: ${p95 !== undefined && p95 <= 20 ? 'met' : 'NOT met'}`);
