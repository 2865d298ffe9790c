#!/usr/bin/env node
// `npm run bench`: drives N orders through a running stack (start it with `npm start`) and prints
//   accepted orders/s, POST latency p50/p95/p99, accepted→first step (pickup) p95,
//   and orders/s completed end to end (to a terminal status), also as the completion rate (first
//   to last terminal order), which leaves out the fixed latency of one order's trip, and as the
//   sustained rate (middle 80 % of completions), which also leaves out the spread of that latency.
//
// Settings: BENCH_URL (http://localhost:3000), BENCH_ORDERS (2000), BENCH_RATE (offered orders/s, 200),
// BENCH_WARMUP_ORDERS (1000; 0 skips the warm-up), BENCH_WARMUP_RATE (100), BENCH_TIMEOUT_S (180), BENCH_CONNECTIONS (64 kept-alive connections opened before the run; 0: none), DATABASE_URL (the service's database, read for timings), AUTH_ISSUER_URL
// (the local provider by default; a token is fetched with the demo client), KAFKA_BROKERS (the local
// broker by default: orders-in is read to split the pickup into its outbox and consumer halves;
// skipped when it cannot be read).
//
// It also prints what the run cost: the service's CPU per order and how busy its event loop was while
// orders came in (from its /metrics), and, for what runs on this machine, how busy the CPU was and
// the CPU per order of the database, Kafka and the bench itself (from /proc; Linux only).
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { Kafka, logLevel } from 'kafkajs';
import { BENCH_PRODUCTS, createHttpClient, ensureBenchProducts, offer as offerOpenLoop, orderBody, problemTitle } from './lib/load.mjs';
import { connectDatabase } from './lib/database.mjs';
import { issueTestToken } from './oidc-provider.mjs';

const url = process.env.BENCH_URL ?? 'http://localhost:3000';
const total = Number(process.env.BENCH_ORDERS ?? 2000);
const rate = Number(process.env.BENCH_RATE ?? 200);
const timeoutS = Number(process.env.BENCH_TIMEOUT_S ?? 180);
// A service, broker and database just started run interpreted code and cold caches: the first
// seconds at full rate measure the JIT compilers (Kafka's C2 thread alone takes a CPU for a while)
// and queue behind them, which says nothing about what the system sustains. The warm-up orders go
// through the same path at a lower rate and must all be terminal before the measured run starts;
// they are left out of every figure.
const warmupOrders = Number(process.env.BENCH_WARMUP_ORDERS ?? 1000);
const warmupRate = Number(process.env.BENCH_WARMUP_RATE ?? 100);
// Connections opened before the measured run, as a gateway or ingress keeps a pool of kept-alive
// connections to the service. Node (libuv since 1.45) accepts one new connection per event-loop
// iteration, and an iteration of a service busy at 200/s takes 10-100 ms: connections a client opens
// in the middle of the burst wait seconds to be accepted, and their requests with them (the service's
// own request timings never see it). 0 measures that: the run then opens what it needs as it goes.
const preopen = Number(process.env.BENCH_CONNECTIONS ?? 64);
const dbUrl = new URL(process.env.DATABASE_URL ?? 'mariadb://root@127.0.0.1:3306/order_flow');
const TERMINAL = ['INVENTORY_FAILED', 'PAYMENT_FAILED', 'SHIPPED', 'SHIPPING_FAILED'];
// /proc counts CPU time in clock ticks of 1/100 s (USER_HZ, 100 on Linux).
const TICK_MS = 10;

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const ms = (v) => `${v.toFixed(1)} ms`;

const db = await connectDatabase(dbUrl);
// Products of the benchmark's own with ample stock, so stock never limits the run.
await ensureBenchProducts(db);

const token = await issueTestToken({ issuer: process.env.AUTH_ISSUER_URL ?? 'http://127.0.0.1:4000' });
const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
const body = (i) => orderBody(i, BENCH_PRODUCTS);

// The request generator (scripts/lib/load.mjs): plain node:http over kept-alive connections.
const client = createHttpClient({ maxSockets: 256 });
const target = new URL('/api/orders', url);
const post = (payload, extraHeaders) => client.send(target, { method: 'POST', headers: { ...headers, ...extraHeaders, 'content-length': Buffer.byteLength(payload) } }, payload);

if (warmupOrders > 0) {
  const warmStartedAt = new Date();
  let warmFailures = 0;
  const warm = await offer(warmupOrders, warmupRate, () => (warmFailures += 1));
  const warmDone = await untilTerminal(warm.accepted.length, warmStartedAt);
  console.log(
    `warm-up            ${warm.accepted.length}/${warmupOrders} accepted at ${warmupRate}/s (${warmFailures} failed), ${warmDone} terminal ${((Date.now() - warmStartedAt.getTime()) / 1000).toFixed(1)} s after the first (left out of every figure below)`,
  );
  if (warmDone < warm.accepted.length) console.log('  warning          not every warm-up order finished in time: the measured run starts on a busy system');
}

console.log(`order-flow bench: ${total} orders offered at ${rate}/s to ${url}`);
if (preopen > 0) await client.openConnections(url, preopen);
const openBefore = client.idleConnections();
client.resetConnectionsOpened();
const costAtStart = await costSnapshot();
/** Why requests failed (status and problem title, or the network error), with how many each. */
const failureReasons = new Map();
const failed = (reason) => failureReasons.set(reason, (failureReasons.get(reason) ?? 0) + 1);
const started = performance.now();
const startedAt = new Date();
const { latencies, accepted } = await offer(total, rate, failed);
const costAfterIntake = await costSnapshot();
client.destroy();
const intakeSeconds = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);

const done = await untilTerminal(accepted.length, startedAt);
const costAtEnd = await costSnapshot();
// What follows reads this run's orders by id, through the primary key and the history's order index:
// a scan of the whole orders and history tables would push the service's working set out of
// MariaDB's buffer pool, and the next run would pay for reading it back.
// When each order was accepted and became terminal (its history row), not orders.updated_at, which
// later events (the shipment's DELIVERED) move on.
const terminalRows = await byOrderIds(
  (ids) => `SELECT STRAIGHT_JOIN o.created_at AS createdAt, h.occurred_at AS at FROM ${ids}
   JOIN orders o ON o.id = k.id
   JOIN order_status_history h ON h.order_id = k.id AND h.to_status IN (${TERMINAL.map(() => '?').join(',')})`,
  TERMINAL,
);
const pickups = await byOrderIds(
  (ids) => `SELECT STRAIGHT_JOIN r.order_id AS orderId, r.occurred_at AS received, s.occurred_at AS started, TIMESTAMPDIFF(MICROSECOND, r.occurred_at, s.occurred_at) / 1000 AS ms
   FROM ${ids}
   JOIN order_status_history r ON r.order_id = k.id AND r.to_status = 'RECEIVED'
   JOIN order_status_history s ON s.order_id = k.id AND s.to_status = 'INVENTORY_CHECK_STARTED'`,
);
const statusCounts = new Map();
for (const r of await byOrderIds((ids) => `SELECT STRAIGHT_JOIN o.status, COUNT(*) AS n FROM ${ids} JOIN orders o ON o.id = k.id GROUP BY o.status`)) {
  statusCounts.set(r.status, (statusCounts.get(r.status) ?? 0) + Number(r.n));
}
const byStatus = [...statusCounts].sort(([a], [b]) => a.localeCompare(b)).map(([status, n]) => ({ status, n }));
await db.end();

const pick = pickups.map((r) => Number(r.ms)).sort((a, b) => a - b);
const finished = terminalRows.map((r) => new Date(r.at).getTime()).sort((a, b) => a - b);
const firstAccepted = terminalRows.reduce((min, r) => Math.min(min, new Date(r.createdAt).getTime()), Infinity);
const e2eSeconds = (finished.at(-1) - firstAccepted) / 1000;
const failures = [...failureReasons.values()].reduce((sum, n) => sum + n, 0);
console.log(`accepted           ${accepted.length}/${total} (${failures} failed) in ${intakeSeconds.toFixed(1)} s = ${(accepted.length / intakeSeconds).toFixed(1)} orders/s`);
for (const [reason, n] of failureReasons) console.log(`  failed           ${n} × ${reason}`);
console.log(`connections        ${openBefore} open before the run (BENCH_CONNECTIONS=${preopen}), ${client.connectionsOpened} opened during it`);
console.log(`POST latency       p50 ${ms(pct(latencies, 50))}  p95 ${ms(pct(latencies, 95))}  p99 ${ms(pct(latencies, 99))}  max ${ms(latencies.at(-1))}`);
console.log(`pickup             p50 ${ms(pct(pick, 50))}  p95 ${ms(pct(pick, 95))}  (RECEIVED → INVENTORY_CHECK_STARTED, ${pick.length} orders)`);
const split = await pickupSplit(pickups).catch((err) => `not measured (${err.message})`);
console.log(`  of which          ${split}`);
const drainSeconds = (finished.at(-1) - finished[0]) / 1000;
console.log(
  `completed          ${done}/${accepted.length} terminal in ${e2eSeconds.toFixed(1)} s = ${(done / e2eSeconds).toFixed(1)} orders/s end to end (first accepted → last terminal)`,
);
// The same without the pipeline's fill time (one order's own latency): the rate at which orders finish.
console.log(`completion rate    ${(done / drainSeconds).toFixed(1)} orders/s (first terminal → last terminal, ${drainSeconds.toFixed(1)} s)`);
// Throughput alone: orders finished per second between the 10th and the 90th percentile of
// completion times. The run's fill and drain (one order's own latency, which the dev latencies make
// seconds long, and its spread) fall outside it, so this is what the system sustains.
const p10 = finished[Math.floor(finished.length * 0.1)];
const p90 = finished[Math.floor(finished.length * 0.9)];
if (finished.length >= 10 && p90 > p10) {
  const middle = Math.floor(finished.length * 0.9) - Math.floor(finished.length * 0.1);
  console.log(`sustained          ${((middle * 1000) / (p90 - p10)).toFixed(1)} orders/s (middle 80 % of completions, ${((p90 - p10) / 1000).toFixed(1)} s)`);
}
console.log(`final statuses     ${byStatus.map((r) => `${r.status} ${r.n}`).join(', ')}`);
for (const line of costLines(costAtStart, costAfterIntake, costAtEnd, accepted.length)) console.log(line);
if (done < accepted.length) process.exitCode = 1;

/**
 * Offers `n` orders at `perSecond`, open loop: each request leaves at its scheduled time, whatever the
 * earlier ones are doing. Returns the POST latencies (sorted later) and the accepted order ids.
 */
async function offer(n, perSecond, onFailure = () => {}) {
  const latencies = [];
  const accepted = [];
  await offerOpenLoop(n, perSecond, (i) => post(body(i), { 'x-correlation-id': `bench-${randomUUID()}` }), {
    onAnswer: (i, res, latencyMs) => {
      latencies.push(latencyMs);
      if (res.status === 202) accepted.push(JSON.parse(res.body).orderId);
      else onFailure(`HTTP ${res.status} ${problemTitle(res.body)}`);
    },
    onError: (i, err) => onFailure(err.code ?? err.message),
  });
  return { latencies, accepted };
}

/**
 * Waits until `expected` bench orders created since `since` are terminal (or the timeout) and returns
 * how many are. Through the (status, updated_at) index: a terminal order of this run was updated after
 * it was created, so this reads this run's terminal orders only, not the whole table, every half second.
 */
async function untilTerminal(expected, since) {
  const deadline = Date.now() + timeoutS * 1000;
  let done = 0;
  while (Date.now() < deadline) {
    const [[row]] = await db.query(
      `SELECT COUNT(*) AS n FROM orders WHERE status IN (${TERMINAL.map(() => '?').join(',')}) AND updated_at >= ? AND created_at >= ? AND correlation_id LIKE 'bench-%'`,
      [...TERMINAL, since, since],
    );
    done = Number(row.n);
    if (done >= expected) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  return done;
}

/**
 * What the service and this machine have spent so far: the service's CPU and event-loop busy time
 * (counters on its /metrics), this machine's CPU time (/proc/stat) and that of the local database
 * and Kafka processes and of the bench (/proc/<pid>/stat). Any part that cannot be read is null.
 */
async function costSnapshot() {
  const at = performance.now();
  const service = await fetch(new URL('/metrics', url), { signal: AbortSignal.timeout(3000) })
    .then((res) => (res.ok ? res.text() : null))
    .then((text) => text && { cpu: counter(text, 'process_cpu_seconds_total'), loop: counter(text, 'order_flow_nodejs_eventloop_active_seconds_total') })
    .catch(() => null);
  return { at, service, host: hostTicks(), database: processTicks(/(^|\/)(mariadbd|mysqld)$/), kafka: processTicks(/^kafka\.Kafka$/), bench: process.cpuUsage() };
}

function counter(text, name) {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : null;
}

/** Busy and total ticks of all CPUs since boot, or null off Linux. */
function hostTicks() {
  try {
    const [, ...fields] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = fields;
    const busy = user + nice + system + irq + softirq + steal;
    return { busy, total: busy + idle + iowait };
  } catch {
    return null;
  }
}

/** User + system ticks of the local processes whose command (or any argument) matches, or null if none runs here. */
function processTicks(pattern) {
  let ticks = null;
  let pids = [];
  try {
    pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return null;
  }
  for (const pid of pids) {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (!argv.some((a) => pattern.test(a))) continue;
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name in parentheses: state is the first, utime the 12th, stime the 13th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks = (ticks ?? 0) + Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return ticks;
}

/** The cost lines: the service's CPU per order and loop utilization, this machine's CPU use. */
function costLines(start, intake, end, orders) {
  const perOrder = (spentMs) => (spentMs / orders).toFixed(2);
  // Not `pct` (the percentile helper above): the share of `whole` that `part` is.
  const share = (part, whole) => `${Math.round((100 * part) / whole)} %`;
  const lines = [];
  if (start.service?.cpu != null && end.service?.cpu != null) {
    const seconds = (intake.at - start.at) / 1000;
    const during = [];
    if (intake.service?.cpu != null) during.push(`${((intake.service.cpu - start.service.cpu) / seconds).toFixed(2)} cores`);
    // Busy is wall time: running, or waiting for a CPU when the machine is saturated.
    if (start.service.loop != null && intake.service?.loop != null) during.push(`event loop busy ${share(intake.service.loop - start.service.loop, seconds)}`);
    const window = during.length ? `; while orders came in ${during.join(', ')}` : '';
    lines.push(`service            cpu ${perOrder((end.service.cpu - start.service.cpu) * 1000)} ms/order over the run${window} (its /metrics)`);
  } else {
    lines.push('service            cost not measured (its /metrics could not be read)');
  }
  if (start.host && intake.host) {
    const parts = [];
    for (const name of ['database', 'kafka']) {
      if (start[name] != null && end[name] != null) parts.push(`${name} ${perOrder((end[name] - start[name]) * TICK_MS)}`);
    }
    const benchMs = (end.bench.user + end.bench.system - start.bench.user - start.bench.system) / 1000;
    parts.push(`bench ${perOrder(benchMs)}`);
    const busy = share(intake.host.busy - start.host.busy, intake.host.total - start.host.total);
    lines.push(`this machine       ${os.availableParallelism()} cores ${busy} busy while orders came in; cpu ms/order over the run: ${parts.join(', ')}`);
  }
  return lines;
}

/**
 * Splits each pickup at the moment the relay handed OrderCreated to Kafka (the record's CreateTime on
 * orders-in): before it the order waits in the outbox, after it in the broker and the process layer's
 * consumer.
 */
async function pickupSplit(rows) {
  const wanted = new Map(rows.map((r) => [r.orderId, r]));
  const kafka = new Kafka({ clientId: 'order-flow-bench', brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  const consumer = kafka.consumer({ groupId: `order-flow-bench-${randomUUID()}` });
  const sentAt = new Map();
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: 'orders-in', fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const key = message.key?.toString();
        if (wanted.has(key)) sentAt.set(key, Number(message.timestamp));
      },
    });
    const until = Date.now() + 30000;
    while (sentAt.size < wanted.size && Date.now() < until) await new Promise((r) => setTimeout(r, 250));
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
  const outbox = [];
  const consume = [];
  for (const [orderId, r] of wanted) {
    const at = sentAt.get(orderId);
    if (at === undefined) continue;
    outbox.push(at - new Date(r.received).getTime());
    consume.push(new Date(r.started).getTime() - at);
  }
  if (!outbox.length) throw new Error('no OrderCreated found on orders-in');
  outbox.sort((a, b) => a - b);
  consume.sort((a, b) => a - b);
  return `outbox → Kafka p50 ${ms(pct(outbox, 50))} p95 ${ms(pct(outbox, 95))}, Kafka → first step p50 ${ms(pct(consume, 50))} p95 ${ms(pct(consume, 95))} (${outbox.length} orders)`;
}

/**
 * Rows of `sql(ids)` for the accepted orders, 500 at a time: `ids` is a table `k` of their ids (one
 * column, `id`) to join first (`SELECT STRAIGHT_JOIN … FROM ${ids} JOIN … ON … = k.id`), so each order
 * is found through an index. With `IN (…)` lists the optimizer scanned the whole history table (its
 * index statistics from when the table was small), which pushes the service's working set out of
 * MariaDB's buffer pool, and the next run would pay for reading it back. `params` follow the ids.
 */
async function byOrderIds(sql, params = []) {
  const rows = [];
  for (let i = 0; i < accepted.length; i += 500) {
    const ids = accepted.slice(i, i + 500);
    const [chunk] = await db.query(sql(`JSON_TABLE(?, '$[*]' COLUMNS (id CHAR(36) PATH '$')) AS k`), [JSON.stringify(ids), ...params]);
    rows.push(...chunk);
  }
  return rows;
}
