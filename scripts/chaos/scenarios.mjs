// The chaos scenarios C1-C12 (see docs/reliability.md, "Chaos suite"). Each one starts its service
// processes on a fresh database and fresh topics, offers load, injects its fault, and ends with
// `finish` (every order terminal, the invariant checker, its own conditions).
//
// CHAOS_SCALE (default 1) scales every duration and order count, e.g. 0.2 for a quick run;
// CHAOS_<ID>_RATE sets a scenario's offered rate; CHAOS_C4_KILLS C4's kills (default 100 × CHAOS_SCALE),
// CHAOS_C4_HOOKED how many processes kill themselves (2), CHAOS_C4_KILL_PROBABILITY the chance a commit (0.05).
import fs from 'node:fs';
import path from 'node:path';
import { generateRequests } from './bodies.mjs';
import { writeBaseline } from './checker.mjs';
import { formatCounts, Load } from './load.mjs';
import { condition, finish } from './report.mjs';
import { faketimeLib, metricValue } from './service.mjs';
import { consumerStates, readiness, sleep, TERMINAL } from './stack.mjs';
import { checkOutboxOrder, groupLag, readTopics } from './topics.mjs';

export const SCALE = Number(process.env.CHAOS_SCALE ?? 1);
/** Scaled seconds (at least one). */
const sec = (s) => Math.max(1, Math.round(s * SCALE));
/** A scenario's offered rate: its default, or CHAOS_<ID>_RATE. */
const rateOf = (id, fallback) => Number(process.env[`CHAOS_${id}_RATE`] ?? fallback);
const untilAt = async (load, s) => {
  const wait = load.startedAt + s * 1000 - Date.now();
  if (wait > 0) await sleep(wait);
};
const FAILED = TERMINAL.filter((s) => s !== 'SHIPPED');
const inList = (list) => list.map((s) => `'${s}'`).join(',');

/** Runs `fn` every `ms` until stopped; keeps what it returns with the time. */
class Sampler {
  constructor(fn, ms) {
    this.fn = fn;
    this.ms = ms;
    this.samples = [];
    this.running = true;
    this.loop = this.run();
  }
  async run() {
    while (this.running) {
      const at = Date.now();
      try {
        this.samples.push({ at, value: await this.fn() });
      } catch (err) {
        this.samples.push({ at, error: err.message });
      }
      const wait = at + this.ms - Date.now();
      if (wait > 0) await sleep(wait);
    }
  }
  async stop() {
    this.running = false;
    await this.loop;
    return this.samples;
  }
}

/** Seeded random numbers in [0, 1) (mulberry32), so a scenario's choices repeat. */
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** HTTP answers that break I7 (a 5xx other than 503). */
const serverErrors = (load) => [...load.answers].filter(([k]) => /^5\d\d$/.test(k) && k !== '503');
const reasonCount = async (ctx, reason) => Number((await ctx.query('SELECT COUNT(*) AS n FROM orders WHERE status_reason = ?', [reason]))[0].n);

export const SCENARIOS = {
  async C1(stack) {
    const count = Math.round(30000 * SCALE);
    const ctx = await stack.scenario('C1', { env: { SIM_PROFILE: 'test' } });
    await ctx.startServices(1);
    const baseline = await writeBaseline(ctx);
    const load = new Load({ token: stack.token, targets: () => ctx.up(), rate: rateOf('C1', 800), count, timeoutMs: 30000 }).start();
    await load.done;
    return finish(ctx, {
      title: `overload: ${count} orders at ${load.rate}/s offered to one process, test profile`,
      load,
      faultEnd: load.endedAt,
      baseline,
      recoveryTimeoutS: 900,
      conditions: async () => {
        const counts = await ctx.statusCounts();
        const total = [...counts.values()].reduce((a, b) => a + b, 0);
        const shipped = counts.get('SHIPPED') ?? 0;
        const timedOut = await reasonCount(ctx, 'STEP_TIMED_OUT');
        return [
          condition('every order SHIPPED', shipped === total && total >= load.accepted.length, `${shipped} of ${total} orders SHIPPED; ${timedOut} STEP_TIMED_OUT`),
          condition('no 5xx but 503', !serverErrors(load).length, formatCounts(new Map(serverErrors(load)))),
        ];
      },
    });
  },

  async C2(stack) {
    const [duration, faultAt, faultLen] = [sec(180), sec(60), sec(60)];
    // No simulated "no answer" from payment: any STEP_TIMED_OUT is then the outage's doing.
    const ctx = await stack.scenario('C2', { env: { PAYMENT_NO_ANSWER_RATE: '0' } });
    const [p1] = await ctx.startServices(1);
    const baseline = await writeBaseline(ctx);
    const probe = new Sampler(() => readiness(p1), 1000);
    const load = new Load({ token: stack.token, targets: () => ctx.up(), rate: rateOf('C2', 200), count: rateOf('C2', 200) * duration }).start();
    await untilAt(load, faultAt);
    const faultStart = Date.now();
    await stack.killBroker();
    await untilAt(load, faultAt + faultLen);
    await stack.startBroker();
    const faultEnd = Date.now();
    // Every group connected again, as readiness shows it.
    let groupsBackS = null;
    while (Date.now() - faultEnd < 120000) {
      const r = await readiness(p1);
      const states = Object.values(consumerStates(r.body, ctx.env.KAFKA_GROUP_PREFIX));
      if (states.length && states.every((s) => s === 'connected')) {
        groupsBackS = (Date.now() - faultEnd) / 1000;
        break;
      }
      await sleep(1000);
    }
    await load.done;
    return finish(ctx, {
      title: `broker SIGKILL for ${faultLen} s in the middle of ${duration} s at ${load.rate}/s, then restart`,
      load,
      faultEnd,
      baseline,
      conditions: async () => {
        const samples = await probe.stop();
        const notOk = samples.filter((s) => s.value?.status !== 200);
        const during = load.answersBetween(faultStart, faultEnd);
        const non202 = [...load.answers].filter(([k]) => k !== '202');
        const timedOut = await reasonCount(ctx, 'STEP_TIMED_OUT');
        return [
          condition(
            'readiness 200 throughout',
            !notOk.length,
            `${notOk.length} of ${samples.length} probes not 200 (${formatCounts(countBy(notOk.map((s) => s.value?.status ?? 'error')))})`,
          ),
          condition('intake 202 throughout', !non202.length, `during the outage: ${formatCounts(during)}; whole run: ${formatCounts(new Map(non202))} besides 202`),
          condition('no order failed by the outage', timedOut === 0, `${timedOut} orders STEP_TIMED_OUT (payment's simulated no-answer is off)`),
          condition(
            'every group connected within 30 s of the broker',
            groupsBackS !== null && groupsBackS <= 30,
            groupsBackS === null ? 'not within 120 s' : `${groupsBackS.toFixed(1)} s`,
          ),
        ];
      },
    });
  },

  async C3(stack) {
    const [duration, every] = [sec(300), sec(20)];
    const ctx = await stack.scenario('C3', { partitions: 6 });
    await ctx.startServices(3);
    const baseline = await writeBaseline(ctx);
    const load = new Load({ token: stack.token, targets: () => ctx.up(), rate: rateOf('C3', 100), count: rateOf('C3', 100) * duration }).start();
    const random = seeded(3);
    const kills = [];
    for (let t = every; t < duration; t += every) {
      await untilAt(load, t);
      const victim = ctx.services[Math.floor(random() * 3)];
      await victim.kill();
      const restart = Date.now();
      await victim.start();
      kills.push({ name: victim.name, restartS: (Date.now() - restart) / 1000 });
    }
    const faultEnd = Date.now();
    await load.done;
    return finish(ctx, {
      title: `3 processes at ${load.rate}/s for ${duration} s, SIGKILL one at random every ${every} s and restart it`,
      load,
      faultEnd,
      baseline,
      notes: [`${kills.length} kills: ${formatCounts(countBy(kills.map((k) => k.name)))}; restart to live took ${Math.max(...kills.map((k) => k.restartS)).toFixed(1)} s at most`],
      conditions: async () => [condition('no 5xx but 503', !serverErrors(load).length, formatCounts(new Map(serverErrors(load))))],
    });
  },

  async C4(stack) {
    const target = Number(process.env.CHAOS_C4_KILLS ?? Math.max(1, Math.round(100 * SCALE)));
    const probability = process.env.CHAOS_C4_KILL_PROBABILITY ?? '0.05';
    // Every kill stalls the groups until the dead member's session times out: more hooked
    // processes, more kills per stall.
    const hookedCount = Number(process.env.CHAOS_C4_HOOKED ?? 2);
    const ctx = await stack.scenario('C4', { partitions: 6 });
    await ctx.installInboxLog();
    // p1 takes the HTTP load and consumes; the others consume and kill themselves after a database commit.
    const hook = (on) => ({ env: { CHAOS_KILL_AFTER_DB_COMMIT: on ? probability : '0' } });
    const [p1] = await ctx.startServices(1);
    const hooked = Array.from({ length: hookedCount }, (_, k) => ctx.service(k + 1, hook(true)));
    const baseline = await writeBaseline(ctx);
    // Light load: the point is the commits, and every kill stalls the groups for their session timeout.
    const load = new Load({ token: stack.token, targets: () => (p1.running() ? [p1] : []), rate: rateOf('C4', 50), count: rateOf('C4', 50) * 3600 }).start();
    let kills = 0;
    const maxMs = Number(process.env.CHAOS_C4_MAX_S ?? Math.max(600, target * 30)) * 1000;
    const started = Date.now();
    // Each hooked process: start it, wait for its death, count it if it killed itself, start it again.
    await Promise.all(
      hooked.map(async (s) => {
        while (kills < target && Date.now() - started < maxMs) {
          try {
            await s.start({ env: hook(true).env });
          } catch {
            // it may die before it answers: that is a kill too
          }
          const exit = await Promise.race([s.exited(), sleep(Math.max(0, maxMs - (Date.now() - started))).then(() => null)]);
          if (!exit) break;
          if (exit.signal === 'SIGKILL') kills += 1;
          else ctx.log(`${s.name} exited (${exit.code ?? exit.signal}) without the hook`);
        }
        // Back without the hook, so the scenario ends with every process consuming.
        if (s.running()) await s.kill();
        await s.start({ env: hook(false).env });
      }),
    );
    await load.stop();
    const faultEnd = Date.now();
    const redelivered = await ctx.inboxHits();
    return finish(ctx, {
      title: `SIGKILL between a consumer's database commit and its offset commit, ${target} times`,
      load,
      faultEnd,
      baseline,
      notes: [`${redelivered} messages redelivered and absorbed by the inbox (inbox hits)`],
      conditions: async () => [
        condition(`${target} kills`, kills >= target, `${kills} kills in ${((faultEnd - started) / 1000).toFixed(0)} s (probability ${probability} a commit)`),
      ],
    });
  },

  async C5(stack) {
    const [duration, downAt, downLen, roAt, roLen] = [sec(80), sec(20), sec(20), sec(45), sec(20)];
    const ctx = await stack.scenario('C5');
    await ctx.startServices(2);
    const baseline = await writeBaseline(ctx);
    const load = new Load({ token: stack.token, targets: () => ctx.up(), rate: rateOf('C5', 100), count: rateOf('C5', 100) * duration }).start();
    await untilAt(load, downAt);
    await stack.db.kill();
    await untilAt(load, downAt + downLen);
    await stack.db.start();
    await untilAt(load, roAt);
    await stack.db.setReadOnly(true);
    await untilAt(load, roAt + roLen);
    await stack.db.setReadOnly(false);
    const faultEnd = Date.now();
    await load.done;
    return finish(ctx, {
      title: `database killed for ${downLen} s under load at ${load.rate}/s, then read_only=ON for ${roLen} s`,
      load,
      faultEnd,
      baseline,
      conditions: async () => {
        const http = [...load.answers].filter(([k]) => /^\d+$/.test(k));
        const bad = http.filter(([k]) => !(k === '202' || k === '503' || /^4\d\d$/.test(k)));
        const network = [...load.answers].filter(([k]) => !/^\d+$/.test(k));
        const half = await halfWritten(ctx, load);
        return [
          condition('HTTP answers only 202, 4xx or 503', !bad.length, `${formatCounts(new Map(bad))}${network.length ? `; no answer: ${formatCounts(new Map(network))}` : ''}`),
          condition('nothing half-written', half.total === 0, half.detail),
        ];
      },
    });
  },

  async C6(stack) {
    const [duration, faultAt, faultLen] = [sec(200), sec(30), sec(120)];
    const ctx = await stack.scenario('C6', { partitions: 6 });
    // p3 reaches the database and the broker through the suite's proxies.
    const [, p2] = await ctx.startServices(3, (i) => ({ cut: i === 2 }));
    const baseline = await writeBaseline(ctx);
    const outboxAge = new Sampler(async () => {
      const [row] = await ctx.query(
        'SELECT TIMESTAMPDIFF(MICROSECOND, MIN(available_at), UTC_TIMESTAMP(3)) / 1e6 AS age FROM outbox WHERE parked_at IS NULL AND available_at <= UTC_TIMESTAMP(3)',
      );
      return row.age === null ? 0 : Number(row.age);
    }, 1000);
    // The cut process stays in the load balancer's rotation (a partition is not seen from outside); the hung one leaves it.
    const load = new Load({ token: stack.token, targets: () => ctx.up(), rate: rateOf('C6', 100), count: rateOf('C6', 100) * duration }).start();
    await untilAt(load, faultAt);
    const faultStart = Date.now();
    await p2.pause();
    stack.dbProxy.cut();
    stack.kafkaProxy.cut();
    await untilAt(load, faultAt + faultLen);
    // Orders accepted in the fault's first third, read before the fault ends.
    const early = load.accepted.filter((a) => a.orderId && a.at >= faultStart && a.at < faultStart + (faultLen * 1000) / 3).map((a) => a.orderId);
    const earlyOpen = await openAmong(ctx, early);
    await p2.resume();
    stack.dbProxy.heal();
    stack.kafkaProxy.heal();
    const faultEnd = Date.now();
    await load.done;
    return finish(ctx, {
      title: `3 processes at ${load.rate}/s: one hung (SIGSTOP) for ${faultLen} s, one cut from database and broker by the proxy`,
      load,
      faultEnd,
      baseline,
      conditions: async () => {
        const samples = (await outboxAge.stop()).filter((s) => s.at >= faultStart && s.at <= faultEnd && s.value !== undefined);
        const maxAge = Math.max(0, ...samples.map((s) => s.value));
        return [
          condition('the outbox never freezes', maxAge <= 30, `oldest due outbox row at most ${maxAge.toFixed(1)} s old during the fault (bound 30 s)`),
          condition(
            'partitions and shards taken over',
            early.length > 0 && earlyOpen / early.length <= 0.05,
            `${early.length - earlyOpen} of ${early.length} orders accepted in the fault's first third terminal before it ended (at least 95 % wanted)`,
          ),
          condition('no 5xx but 503', !serverErrors(load).length, formatCounts(new Map(serverErrors(load)))),
        ];
      },
    });
  },

  async C7(stack) {
    const [duration, termAt] = [sec(60), sec(30)];
    const ctx = await stack.scenario('C7');
    await ctx.installInboxLog();
    const [p1, p2] = await ctx.startServices(2);
    const baseline = await writeBaseline(ctx);
    const load = new Load({ token: stack.token, targets: () => ctx.up(), rate: rateOf('C7', 100), count: rateOf('C7', 100) * duration }).start();
    await untilAt(load, termAt);
    const before = { log: await ctx.inboxLogMark(), metric: metricValue(await p1.metrics(), 'order_flow_inbox_duplicates_total') };
    // The load balancer takes it out as Kubernetes does on SIGTERM.
    p2.draining = true;
    const exit = await p2.terminate(60000);
    const faultEnd = Date.now();
    await load.done;
    return finish(ctx, {
      title: `SIGTERM one of two processes at ${load.rate}/s`,
      load,
      faultEnd,
      baseline,
      conditions: async () => {
        const byGroup = await ctx.inboxHitsByGroup(before.log);
        const hits = [...byGroup.values()].reduce((a, b) => a + b, 0);
        const metricNow = metricValue(await p1.metrics(), 'order_flow_inbox_duplicates_total');
        const metric = before.metric !== null && metricNow !== null ? `; the survivor's order_flow_inbox_duplicates_total +${metricNow - before.metric}` : '';
        return [
          condition(
            'exits within 30 s',
            exit && !exit.forced && exit.tookMs <= 30000,
            exit ? `exited ${exit.code ?? exit.signal} after ${(exit.tookMs / 1000).toFixed(1)} s${exit.forced ? ' (killed after 60 s)' : ''}` : 'not running',
          ),
          condition(
            'zero redeliveries',
            hits === 0 && (metricNow === null || before.metric === null || metricNow === before.metric),
            `${hits} inbox hits after the SIGTERM${hits ? ` (${formatCounts(byGroup)})` : ''}${metric}`,
          ),
        ];
      },
    });
  },

  async C8(stack) {
    const [duration, aheadAt, behindAt, backAt] = [sec(100), sec(10), sec(50), sec(90)];
    if (!faketimeLib()) throw new Error('libfaketime is not installed (apt-get install -y faketime)');
    const ctx = await stack.scenario('C8', { env: { PAYMENT_NO_ANSWER_RATE: '0' } });
    const clockFile = path.join(ctx.dir, 'clock-p2');
    fs.writeFileSync(clockFile, '+0s\n');
    await ctx.startServices(2, (i) => (i === 1 ? { clockFile } : {}));
    const baseline = await writeBaseline(ctx);
    const load = new Load({ token: stack.token, targets: () => ctx.up(), rate: rateOf('C8', 100), count: rateOf('C8', 100) * duration }).start();
    await untilAt(load, aheadAt);
    fs.writeFileSync(clockFile, '+20s\n');
    await untilAt(load, behindAt);
    fs.writeFileSync(clockFile, '-20s\n');
    await untilAt(load, backAt);
    fs.writeFileSync(clockFile, '+0s\n');
    const faultEnd = Date.now();
    await load.done;
    const retries = async () => {
      const texts = await Promise.all(ctx.services.map((s) => s.metrics()));
      return ['inventory', 'payment', 'shipping']
        .map((step) => `${step} ${texts.reduce((sum, t) => sum + (metricValue(t, 'order_flow_saga_retries_total', { step }) ?? 0), 0)}`)
        .join(', ');
    };
    return finish(ctx, {
      notes: [`saga step retries (both processes): ${await retries()}`],
      title: `2 processes at ${load.rate}/s, one 20 s ahead for ${behindAt - aheadAt} s, then 20 s behind for ${backAt - behindAt} s`,
      load,
      faultEnd,
      baseline,
      conditions: async () => {
        const timedOut = await reasonCount(ctx, 'STEP_TIMED_OUT');
        return [
          condition('no STEP_TIMED_OUT', timedOut === 0, `${timedOut} orders STEP_TIMED_OUT (payment's simulated no-answer is off; latencies within the deadlines)`),
          condition('no 5xx but 503', !serverErrors(load).length, formatCounts(new Map(serverErrors(load)))),
        ];
      },
    });
  },

  async C9(stack) {
    const duration = sec(20);
    const fault = { PAYMENT_FAULT_RATE: '1', PAYMENT_DECLINE_RATE: '0', PAYMENT_TRANSIENT_RATE: '0', PAYMENT_NO_ANSWER_RATE: '0' };
    // A failing command goes to the DLQ at its first failure: with the default 3 attempts and the
    // consumer's backoff, the payment group would work through the failed charges for many minutes.
    const ctx = await stack.scenario('C9', { env: { CONSUMER_MAX_ATTEMPTS: '1' } });
    const [p1] = await ctx.startServices(1, () => ({ env: fault }));
    const baseline = await writeBaseline(ctx);
    const load = new Load({ token: stack.token, targets: () => ctx.up(), rate: rateOf('C9', 100), count: rateOf('C9', 100) * duration }).start();
    await load.done;
    // The saga gives up on every charge (deadline after its attempts), the payment group gets through
    // every command (each charge dead-lettered); then the provider is mended.
    const failedAt = await ctx.untilTerminal({ expected: load.accepted.length, timeoutS: 300 });
    const paymentGroup = `${ctx.env.KAFKA_GROUP_PREFIX}-payment`;
    for (const deadline = Date.now() + 300000; Date.now() < deadline; await sleep(1000)) {
      if ((await groupLag(stack.brokers, paymentGroup, ctx.topics.KAFKA_TOPIC_PAYMENT_REQUESTS).catch(() => -1)) === 0) break;
    }
    await p1.terminate();
    p1.env = { ...p1.env, PAYMENT_FAULT_RATE: '0' };
    for (const k of ['PAYMENT_DECLINE_RATE', 'PAYMENT_TRANSIENT_RATE', 'PAYMENT_NO_ANSWER_RATE']) delete p1.env[k];
    await p1.start();
    await ctx.waitConsuming(p1);
    const faultEnd = Date.now();
    const letters = await dlqCount(ctx);
    const replay = await ctx.cli('dlq.js', ['replay', '--all'], { allowFailure: true });
    const replayed = Number(/(\d+) of \d+ dead letter/.exec(replay.out)?.[1] ?? 0);
    await quiet(ctx);
    const lettersAfter = await dlqCount(ctx);
    return finish(ctx, {
      title: `payment fails unexpectedly for ${duration} s at ${load.rate}/s (dead-lettered), then dlq replay --all`,
      load,
      faultEnd,
      baseline,
      allowDlq: letters,
      notes: [
        `all orders terminal ${failedAt ? `${((failedAt - load.endedAt) / 1000).toFixed(1)} s after the load` : 'not within 300 s'} with the fault on`,
        `${letters} dead letters before the replay, ${replayed} replayed (exit ${replay.code}), ${lettersAfter} in the DLQ after`,
      ],
      conditions: async () => {
        const counts = await ctx.statusCounts();
        const [charged] = await ctx.query(`SELECT COUNT(*) AS n FROM payments p JOIN orders o ON o.id = p.order_id WHERE o.status IN (${inList(FAILED)}) AND p.status = 'CHARGED'`);
        const [reserved] = await ctx.query(
          `SELECT COUNT(*) AS n FROM stock_reservations r JOIN orders o ON o.id = r.order_id WHERE o.status IN (${inList(FAILED)}) AND r.status = 'RESERVED'`,
        );
        const [shipped] = await ctx.query(
          `SELECT COUNT(*) AS n FROM shipments s JOIN orders o ON o.id = s.order_id WHERE o.status IN (${inList(FAILED)}) AND s.status IN ('PENDING','IN_TRANSIT','DELIVERED')`,
        );
        return [
          condition(
            'orders end PAYMENT_FAILED',
            (counts.get('PAYMENT_FAILED') ?? 0) > 0 && !counts.get('SHIPPED'),
            `${counts.get('PAYMENT_FAILED') ?? 0} PAYMENT_FAILED, ${counts.get('SHIPPED') ?? 0} SHIPPED`,
          ),
          condition('the replay replayed something', replayed > 0, `${replayed} of ${letters} letters`),
          condition('no unrefunded charge', Number(charged.n) === 0, `${charged.n} failed orders with a charge not refunded`),
          condition('no leaked reservation', Number(reserved.n) === 0, `${reserved.n} reservations still held by failed orders`),
          condition('no shipment', Number(shipped.n) === 0, `${shipped.n} failed orders with a pending, in-transit or delivered shipment`),
        ];
      },
    });
  },

  async C10(stack) {
    const [duration, every] = [sec(300), sec(30)];
    const ctx = await stack.scenario('C10', { partitions: 6 });
    await ctx.installOutboxLog();
    const [, p2, p3] = await ctx.startServices(3);
    const baseline = await writeBaseline(ctx);
    const load = new Load({ token: stack.token, targets: () => ctx.up(), rate: rateOf('C10', 100), count: rateOf('C10', 100) * duration }).start();
    let steps = 0;
    for (let t = every; t < duration; t += every) {
      await untilAt(load, t);
      if (steps % 2 === 0) {
        p2.draining = p3.draining = true;
        await Promise.all([p2.terminate(), p3.terminate()]);
      } else {
        p2.draining = p3.draining = false;
        await Promise.all([p2.start(), p3.start()]);
      }
      steps += 1;
    }
    const faultEnd = Date.now();
    await load.done;
    return finish(ctx, {
      title: `rebalance storm: 3→1→3 processes every ${every} s for ${duration} s at ${load.rate}/s`,
      load,
      faultEnd,
      baseline,
      notes: [`${steps} scale steps`],
      conditions: async () => {
        const rows = await ctx.query('SELECT id, topic, message_key, event_id, available_at FROM chaos_outbox_log');
        const topics = Object.entries(ctx.topics)
          .filter(([k]) => k !== 'KAFKA_TOPIC_DLQ')
          .map(([, t]) => t);
        const onKafka = await readTopics(stack.brokers, topics);
        const order = checkOutboxOrder(rows, onKafka);
        const sample = order.violations
          .slice(0, 3)
          .map((v) => `${v.topic} ${v.key}`)
          .join(', ');
        return [
          condition(
            "each order's messages on each topic in outbox order",
            order.violations.length === 0 && order.missing === 0,
            `${order.pairs} ordered pairs of ${rows.length} messages checked: ${order.violations.length} out of order${sample ? ` (${sample})` : ''}, ${order.missing} never on Kafka`,
          ),
          condition('no 5xx but 503', !serverErrors(load).length, formatCounts(new Map(serverErrors(load)))),
        ];
      },
    });
  },

  async C11(stack) {
    const count = Math.round(10000 * SCALE);
    const requests = generateRequests(count, Number(process.env.CHAOS_SEED ?? 42));
    const ctx = await stack.scenario('C11');
    await ctx.startServices(1);
    const baseline = await writeBaseline(ctx);
    const load = new Load({ token: stack.token, targets: () => ctx.up(), rate: rateOf('C11', 200), count, request: (i) => requests[i] }).start();
    await load.done;
    return finish(ctx, {
      title: `${count} generated request bodies (fast-check), about a third valid`,
      load,
      faultEnd: load.endedAt,
      baseline,
      conditions: async () => {
        const fiveXx = [...load.answers].filter(([k]) => /^5\d\d$/.test(k));
        const fromInvalid = load.accepted.filter((a) => !a.valid);
        const [orders] = await ctx.query('SELECT COUNT(*) AS n FROM orders');
        const valid = requests.filter((r) => r.valid).length;
        const invalidWhat = fromInvalid.length ? ` (${formatCounts(countBy(fromInvalid.map((a) => requests[a.i].what.replace(/ at .*| = .*/, ''))))})` : '';
        return [
          condition(
            '0 × 5xx',
            !fiveXx.length,
            `${formatCounts(new Map(fiveXx))}${load.serverErrors.length ? ` (${formatCounts(countBy(load.serverErrors.map((e) => `${e.status} on ${requests[e.i].what}`)))})` : ''}`,
          ),
          condition(
            'no order from an invalid body',
            fromInvalid.length === 0 && Number(orders.n) === load.accepted.length,
            `${fromInvalid.length} invalid bodies accepted${invalidWhat}; ${orders.n} orders for ${load.accepted.length} 202s`,
          ),
          condition(
            'valid bodies accepted',
            load.accepted.filter((a) => a.valid).length === valid,
            `${load.accepted.filter((a) => a.valid).length} of ${valid} valid bodies got 202`,
          ),
        ];
      },
    });
  },

  async C12(stack) {
    const [duration, warmup] = [sec(1800), sec(300)];
    const ctx = await stack.scenario('C12');
    const [p1] = await ctx.startServices(1);
    const baseline = await writeBaseline(ctx);
    const load = new Load({ token: stack.token, targets: () => ctx.up(), rate: rateOf('C12', 150), count: rateOf('C12', 150) * duration }).start();
    const sampler = new Sampler(
      async () => {
        const text = await p1.metrics(5000);
        return {
          rss: metricValue(text, 'process_resident_memory_bytes'),
          // The live heap (after the last full GC): heap_size_used also holds the old generation's
          // garbage until V8 collects it, and swings between about 80 and 250 MB with the GC's schedule.
          heap: metricValue(text, 'order_flow_nodejs_heap_after_gc_bytes') || null, // NaN (0 here) until the first full GC
          heapUsed: metricValue(text, 'nodejs_heap_size_used_bytes'),
          lag: metricValue(text, 'order_flow_kafka_consumer_lag'),
          // Orders not yet terminal: the saga's own backlog (steps waiting, retries, the outbox), which
          // consumer lag does not see.
          open: openOrders(text),
        };
      },
      Math.max(2000, sec(10) * 1000),
    );
    await load.done;
    const samples = (await sampler.stop()).filter((s) => s.value);
    const t0 = load.startedAt;
    const window = (from, to) => samples.filter((s) => s.at >= t0 + from * 1000 && s.at < t0 + to * 1000);
    const span = (duration - warmup) * 0.2;
    const [early, late] = [window(warmup, warmup + span), window(duration - span, duration + 1)];
    const med = (list, k) => median(list.map((s) => s.value[k]).filter((v) => v !== null));
    const max = (list, k) => Math.max(0, ...list.map((s) => s.value[k] ?? 0));
    const p99 = (from, to) =>
      percentile(
        load.latencies.filter(([at]) => at >= t0 + from * 1000 && at < t0 + to * 1000).map(([, l]) => l),
        99,
      );
    const [p99Early, p99Late] = [p99(warmup, warmup + span), p99(duration - span, duration + 1)];
    const mb = (b) => `${(b / 1048576).toFixed(0)} MB`;
    return finish(ctx, {
      title: `soak: ${duration} s at ${load.rate}/s (warm-up ${warmup} s)`,
      load,
      faultEnd: load.endedAt,
      baseline,
      // The course of the run, five minutes a line: a max over a window is one sample, and a lag made of
      // the batches in hand on every partition swings by hundreds from one scrape to the next.
      notes: trend(samples, t0, 300, ['lag', 'open', 'heap']),
      conditions: async () => [
        condition(
          'RSS within 10 % of its level after warm-up',
          med(late, 'rss') <= med(early, 'rss') * 1.1,
          `${mb(med(early, 'rss'))} after warm-up, ${mb(med(late, 'rss'))} at the end (medians of the first and last fifth)`,
        ),
        condition(
          'live heap within 10 % of its level after warm-up',
          med(late, 'heap') <= med(early, 'heap') * 1.1,
          `${mb(med(early, 'heap'))} → ${mb(med(late, 'heap'))} after full GCs (heap used with its garbage: ${mb(med(early, 'heapUsed'))} → ${mb(med(late, 'heapUsed'))})`,
        ),
        condition('lag bounded', max(late, 'lag') <= Math.max(1000, 2 * max(early, 'lag')), `max ${max(early, 'lag')} after warm-up, ${max(late, 'lag')} at the end`),
        condition(
          'the saga keeps pace',
          max(late, 'open') <= Math.max(30 * load.rate, 2 * max(early, 'open')),
          `at most ${max(early, 'open')} orders open after warm-up, ${max(late, 'open')} at the end (bound: twice the first, at least 30 s of orders)`,
        ),
        condition('POST p99 stable', p99Late <= Math.max(2 * p99Early, p99Early + 50), `${p99Early.toFixed(1)} ms after warm-up, ${p99Late.toFixed(1)} ms at the end`),
      ],
    });
  },
};

/** One line per `step` seconds from t0: median and max of each key over that stretch of samples. */
function trend(samples, t0, step, keys) {
  const lines = [];
  for (let from = 0; ; from += step) {
    const part = samples.filter((s) => s.at >= t0 + from * 1000 && s.at < t0 + (from + step) * 1000);
    if (!part.length) break;
    const stats = keys.map((k) => {
      const scale = k === 'heap' ? 1048576 : 1; // bytes → MB
      const values = part.map((s) => s.value[k]).filter((v) => v !== null && v !== undefined).map((v) => Math.round(v / scale));
      return `${k} ${median(values)}/${Math.max(0, ...values)}`;
    });
    lines.push(`minute ${from / 60}-${(from + step) / 60} (median/max): ${stats.join(', ')}`);
  }
  return lines;
}

/** Orders not in a terminal status, from the `order_flow_orders` gauge; null when the scrape had none. */
function openOrders(text) {
  const all = metricValue(text, 'order_flow_orders');
  if (all === null) return null;
  return TERMINAL.reduce((open, status) => open - (metricValue(text, 'order_flow_orders', { status }) ?? 0), all);
}

function countBy(list) {
  const m = new Map();
  for (const x of list) m.set(String(x), (m.get(String(x)) ?? 0) + 1);
  return m;
}

function median(values) {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function percentile(values, p) {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

/** How many of `ids` are not terminal. */
async function openAmong(ctx, ids) {
  let open = 0;
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    const [row] = await ctx.query(
      `SELECT COUNT(*) AS n FROM JSON_TABLE(?, '$[*]' COLUMNS (id CHAR(36) PATH '$')) AS k JOIN orders o ON o.id = k.id WHERE o.status NOT IN (${inList(TERMINAL)})`,
      [JSON.stringify(chunk)],
    );
    open += Number(row.n);
  }
  return open;
}

/** Orders without their RECEIVED history row or their lines, and accepted orders that do not exist. */
async function halfWritten(ctx, load) {
  const [noHistory] = await ctx.query(
    `SELECT COUNT(*) AS n FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_status_history h WHERE h.order_id = o.id AND h.to_status = 'RECEIVED')`,
  );
  const [noItems] = await ctx.query('SELECT COUNT(*) AS n FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id)');
  const ids = load.accepted.map((a) => a.orderId).filter(Boolean);
  let missing = 0;
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    const [row] = await ctx.query(`SELECT COUNT(*) AS n FROM JSON_TABLE(?, '$[*]' COLUMNS (id CHAR(36) PATH '$')) AS k LEFT JOIN orders o ON o.id = k.id WHERE o.id IS NULL`, [
      JSON.stringify(chunk),
    ]);
    missing += Number(row.n);
  }
  const total = Number(noHistory.n) + Number(noItems.n) + missing;
  return { total, detail: `${noHistory.n} orders without their RECEIVED row, ${noItems.n} without lines, ${missing} accepted orders missing` };
}

/** Letters in the scenario's DLQ. */
async function dlqCount(ctx) {
  const { out } = await ctx.cli('dlq.js', ['list', '--json']);
  return JSON.parse(out.slice(out.indexOf('['))).length;
}

/** Until nothing moves: the outbox empty and payments, reservations and shipments unchanged for 10 s (at most 180 s). */
async function quiet(ctx) {
  const deadline = Date.now() + 180000;
  let last = '';
  let since = Date.now();
  while (Date.now() < deadline) {
    const [row] = await ctx.query(
      `SELECT (SELECT COUNT(*) FROM outbox) AS outbox, (SELECT COUNT(*) FROM saga_steps) AS steps,
       (SELECT GROUP_CONCAT(CONCAT(status, ':', n)) FROM (SELECT status, COUNT(*) AS n FROM payments GROUP BY status) p) AS payments,
       (SELECT GROUP_CONCAT(CONCAT(status, ':', n)) FROM (SELECT status, COUNT(*) AS n FROM stock_reservations GROUP BY status) r) AS reservations,
       (SELECT COUNT(*) FROM shipments) AS shipments`,
    );
    const now = JSON.stringify(row);
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Number(row.outbox) === 0 && Date.now() - since >= 10000) return;
    await sleep(1000);
  }
}
