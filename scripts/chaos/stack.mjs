// What every chaos scenario runs on: the suite's own MariaDB, the project's broker (with a second
// listener behind a proxy), the local OpenID provider, and one to three service processes.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { startKafka, stopKafka } from '../kafka.mjs';
import { ensureBenchProducts } from '../lib/load.mjs';
import { ROOT } from '../lib/infra.mjs';
import { issueTestToken, startOidcProvider } from '../oidc-provider.mjs';
import { SuiteMariaDb } from './mariadb.mjs';
import { TcpProxy } from './proxy.mjs';
import { ServiceProcess } from './service.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const TERMINAL = ['INVENTORY_FAILED', 'PAYMENT_FAILED', 'SHIPPED', 'SHIPPING_FAILED', 'CANCELLED'];
const DATABASE = 'order_flow_chaos';
const TOPICS = {
  KAFKA_TOPIC_ORDERS_IN: 'orders-in',
  KAFKA_TOPIC_ORDERS_VALIDATED: 'orders-validated',
  KAFKA_TOPIC_ORDER_STATUS: 'order-status',
  KAFKA_TOPIC_INVENTORY_UPDATES: 'inventory-updates',
  KAFKA_TOPIC_SHIPPING_UPDATES: 'shipping-updates',
  KAFKA_TOPIC_INVENTORY_REQUESTS: 'inventory-requests',
  KAFKA_TOPIC_INVENTORY_REPLIES: 'inventory-replies',
  KAFKA_TOPIC_PAYMENT_REQUESTS: 'payment-requests',
  KAFKA_TOPIC_PAYMENT_REPLIES: 'payment-replies',
  KAFKA_TOPIC_SHIPPING_REPLIES: 'shipping-replies',
  KAFKA_TOPIC_DLQ: 'dlq-orders',
};

/** Ports and folders, from the environment (see docs/reliability.md, "Chaos suite"). */
export function stackConfig(env = process.env) {
  const int = (name, fallback) => (env[name] ? Number(env[name]) : fallback);
  const kafka = int('CHAOS_KAFKA_PORT', 19792);
  return {
    dir: path.resolve(ROOT, env.CHAOS_DIR ?? '.local/chaos'),
    dbPort: int('CHAOS_DB_PORT', 3407),
    dbProxyPort: int('CHAOS_DB_PROXY_PORT', int('CHAOS_DB_PORT', 3407) + 1),
    kafkaPort: kafka,
    kafkaControllerPort: int('CHAOS_KAFKA_CONTROLLER_PORT', kafka + 1),
    kafkaProxiedPort: int('CHAOS_KAFKA_PROXIED_PORT', kafka + 2),
    kafkaProxyPort: int('CHAOS_KAFKA_PROXY_PORT', kafka + 3),
    httpPort: int('CHAOS_HTTP_PORT', 3401),
    /** Explicit ports of the service processes (CHAOS_HTTP_PORTS=a,b,c), else httpPort, +1, +2 … */
    httpPorts: env.CHAOS_HTTP_PORTS ? env.CHAOS_HTTP_PORTS.split(',').map(Number) : null,
    oidcPort: int('CHAOS_OIDC_PORT', 4401),
  };
}

export class ChaosStack {
  constructor(config = stackConfig(), log = (m) => console.log(`[chaos] ${m}`)) {
    this.cfg = config;
    this.log = log;
    this.db = new SuiteMariaDb({ dir: path.join(config.dir, 'mariadb'), port: config.dbPort, log });
    this.kafkaOptions = {
      port: config.kafkaPort,
      controllerPort: config.kafkaControllerPort,
      dataDir: path.join(config.dir, 'kafka'),
      heapOpts: process.env.CHAOS_KAFKA_HEAP_OPTS ?? '-Xmx384m -Xms128m',
      extraListeners: [{ name: 'PROXIED', port: config.kafkaProxiedPort, advertisedPort: config.kafkaProxyPort }],
      // The suite's own broker, whatever KAFKA_BROKERS says around it.
      env: { ...process.env, KAFKA_BROKERS: '' },
      log: (m) => log(`kafka: ${m}`),
    };
    this.brokers = `127.0.0.1:${config.kafkaPort}`;
    this.proxiedBrokers = `127.0.0.1:${config.kafkaProxyPort}`;
    this.dbProxy = new TcpProxy({ name: 'database', listenPort: config.dbProxyPort, targetPort: config.dbPort });
    this.kafkaProxy = new TcpProxy({ name: 'kafka', listenPort: config.kafkaProxyPort, targetPort: config.kafkaProxiedPort });
    this.services = [];
  }

  async up() {
    fs.mkdirSync(this.cfg.dir, { recursive: true });
    this.log(`MariaDB: fresh data dir ${path.relative(ROOT, this.db.dataDir)}, port ${this.cfg.dbPort}`);
    await this.db.init();
    // A fresh broker for each sitting: no topics or offsets from an earlier one.
    await stopKafka(this.kafkaOptions);
    fs.rmSync(this.kafkaOptions.dataDir, { recursive: true, force: true });
    this.kafka = await startKafka(this.kafkaOptions);
    await this.dbProxy.listen();
    await this.kafkaProxy.listen();
    this.oidc = await startOidcProvider({ port: this.cfg.oidcPort });
    this.token = await issueTestToken({ issuer: this.oidc.issuer });
  }

  async down() {
    for (const s of this.services) await s.kill().catch(() => undefined);
    this.services = [];
    await this.oidc?.close().catch(() => undefined);
    await this.dbProxy.close().catch(() => undefined);
    await this.kafkaProxy.close().catch(() => undefined);
    await stopKafka(this.kafkaOptions).catch(() => undefined);
    await this.db.kill().catch(() => undefined);
  }

  /** SIGKILL to the broker (its pid file), then nothing until `startBroker`. */
  async killBroker() {
    const pid = Number(fs.readFileSync(path.join(this.kafkaOptions.dataDir, 'kafka.pid'), 'utf8').trim());
    process.kill(pid, 'SIGKILL');
    while (fs.existsSync(`/proc/${pid}`)) await sleep(100);
    this.log(`broker killed (pid ${pid})`);
  }

  async startBroker() {
    this.kafka = await startKafka(this.kafkaOptions);
  }

  async stopBroker() {
    await stopKafka(this.kafkaOptions);
  }

  /** A fresh scenario: its own database (dropped and set up again), topics and consumer groups. */
  async scenario(id, options = {}) {
    const ctx = new ScenarioContext(this, id, options);
    await ctx.prepare();
    return ctx;
  }
}

export class ScenarioContext {
  /**
   * @param {ChaosStack} stack
   * @param {{ partitions?: number, env?: Record<string, string> }} options
   */
  constructor(stack, id, { partitions = 2, env = {} } = {}) {
    this.stack = stack;
    this.id = id;
    this.log = (m) => stack.log(`${id}: ${m}`);
    this.dir = path.join(stack.cfg.dir, 'runs', id);
    this.database = DATABASE;
    const prefix = `${id.toLowerCase()}-`;
    const topics = Object.fromEntries(Object.entries(TOPICS).map(([k, v]) => [k, `${prefix}${v}`]));
    this.topics = topics;
    /** What the service, the CLIs and the checker share. */
    this.env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME ?? '/root',
      LANG: process.env.LANG ?? 'C.UTF-8',
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      DATABASE_URL: stack.db.url(DATABASE),
      KAFKA_BROKERS: stack.brokers,
      KAFKA_GROUP_PREFIX: `order-flow-${id.toLowerCase()}`,
      KAFKA_TOPIC_PARTITIONS: String(partitions),
      AUTH_ISSUER_URL: stack.oidc.issuer,
      // The load comes from one client: the per-client limit is not what a scenario tests.
      RATE_LIMIT_PER_MINUTE: '100000000',
      SIM_PROFILE: 'dev',
      ...topics,
      ...env,
    };
    this.services = [];
    this.startedAt = Date.now();
    this.loadAverage = Math.round(os.loadavg()[0] * 10) / 10;
  }

  async prepare() {
    fs.rmSync(this.dir, { recursive: true, force: true });
    fs.mkdirSync(this.dir, { recursive: true });
    const { db } = this.stack;
    if (!db.running()) await db.start();
    await db.setReadOnly(false).catch(() => undefined);
    await db.admin(`DROP DATABASE IF EXISTS \`${DATABASE}\``);
    await db.admin(`CREATE DATABASE \`${DATABASE}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    await db.grant(DATABASE);
    await this.cli('db.js', ['setup']);
    const conn = await mysql.createConnection(db.connection(DATABASE));
    try {
      await ensureBenchProducts(conn);
    } finally {
      await conn.end();
    }
  }

  /** Runs `node dist/cli/<name> args…` with the scenario's environment; resolves with its output, rejects on failure. */
  cli(name, args, { env = {}, allowFailure = false } = {}) {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'cli', name), ...args], { cwd: this.dir, env: { ...this.env, ...env } });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('exit', (code) => {
        if (code === 0 || allowFailure) resolve({ code, out });
        else reject(new Error(`${name} ${args.join(' ')} exited with ${code}:\n${out}`));
      });
    });
  }

  /**
   * The i-th service process (0-based, port httpPort + i), not yet started.
   * `cut: true` puts it behind the suite's proxies for the database and the broker.
   */
  service(i, { env = {}, cut = false, clockFile } = {}) {
    const { stack } = this;
    const s = new ServiceProcess({
      name: `p${i + 1}`,
      root: ROOT,
      port: stack.cfg.httpPorts?.[i] ?? stack.cfg.httpPort + i,
      logFile: path.join(this.dir, `p${i + 1}.log`),
      clockFile,
      log: this.log,
      env: {
        ...this.env,
        SIM_SEED: String(4242 + i),
        ...(cut ? { DATABASE_URL: stack.db.url(DATABASE, stack.cfg.dbProxyPort), KAFKA_BROKERS: stack.proxiedBrokers } : {}),
        ...env,
      },
    });
    this.services[i] = s;
    stack.services.push(s);
    return s;
  }

  /** Starts `n` processes one after another (the first creates the topics) and waits until each is ready. */
  async startServices(n, options = () => ({})) {
    const list = [];
    for (let i = 0; i < n; i++) {
      const s = this.service(i, options(i));
      await s.start();
      list.push(s);
    }
    await Promise.all(list.map((s) => this.waitConsuming(s)));
    return list;
  }

  /** Until the process is ready and its readiness shows every consumer group connected (or the timeout). */
  async waitConsuming(s, timeoutMs = 60000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const r = await readiness(s);
      const states = Object.values(consumerStates(r.body, this.env.KAFKA_GROUP_PREFIX));
      if (r.status === 200 && states.length && states.every((st) => st === 'connected')) return true;
      await sleep(500);
    }
    this.log(`${s.name}: not ready ${timeoutMs / 1000} s after its start`);
    return false;
  }

  /** Service processes that answer and that the suite has not stopped, killed, paused or sent SIGTERM (where a load balancer sends). */
  up() {
    return this.services.filter((s) => s && s.running() && !s.starting && !s.paused && !s.draining);
  }

  async query(sql, params = []) {
    return this.stack.db.admin(sql, params, DATABASE);
  }

  /** Orders by status. */
  async statusCounts() {
    const rows = await this.query('SELECT status, COUNT(*) AS n FROM orders GROUP BY status');
    return new Map(rows.map((r) => [r.status, Number(r.n)]));
  }

  /**
   * Waits until every order in the database is terminal (and at least `expected` exist). Returns the
   * time that happened (ms since the epoch) or null after the timeout.
   */
  async untilTerminal({ expected = 0, timeoutS = 300 } = {}) {
    const deadline = Date.now() + timeoutS * 1000;
    let last = '';
    while (Date.now() < deadline) {
      try {
        const counts = await this.statusCounts();
        const total = [...counts.values()].reduce((a, b) => a + b, 0);
        const open = [...counts].filter(([s]) => !TERMINAL.includes(s)).reduce((a, [, n]) => a + n, 0);
        if (open === 0 && total >= expected) return Date.now();
        const now = `${open} of ${total} orders not terminal`;
        if (now !== last && Math.random() < 0.1) this.log(now);
        last = now;
      } catch {
        // the database is away: try again
      }
      await sleep(1000);
    }
    return null;
  }

  /**
   * Logs every attempt to record a message in the inbox, including those INSERT IGNORE drops as
   * seen before (a BEFORE INSERT trigger fires for them too): a second attempt for the same
   * (group, event) is a redelivery the inbox absorbed. The suite's database only.
   */
  async installInboxLog() {
    await this.query(
      'CREATE TABLE chaos_inbox_log (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, consumer_group VARCHAR(100) NOT NULL, event_id CHAR(36) NOT NULL, KEY ix_attempt (consumer_group, event_id, id))',
    );
    await this.query(
      'CREATE TRIGGER chaos_inbox_attempts BEFORE INSERT ON processed_messages FOR EACH ROW INSERT INTO chaos_inbox_log (consumer_group, event_id) VALUES (NEW.consumer_group, NEW.event_id)',
    );
  }

  /** The last inbox attempt so far (to count hits after it). */
  async inboxLogMark() {
    const [row] = await this.query('SELECT COALESCE(MAX(id), 0) AS id FROM chaos_inbox_log');
    return Number(row.id);
  }

  /** Inbox attempts after `afterId` for a message already recorded: redeliveries. */
  async inboxHits(afterId = 0) {
    return [...(await this.inboxHitsByGroup(afterId)).values()].reduce((a, b) => a + b, 0);
  }

  /** The same, by consumer group: Map<group, hits>. */
  async inboxHitsByGroup(afterId = 0) {
    const rows = await this.query(
      'SELECT l.consumer_group AS g, COUNT(*) AS n FROM chaos_inbox_log l WHERE l.id > ? AND EXISTS (SELECT 1 FROM chaos_inbox_log e WHERE e.consumer_group = l.consumer_group AND e.event_id = l.event_id AND e.id < l.id) GROUP BY l.consumer_group',
      [afterId],
    );
    return new Map(rows.map((r) => [r.g, Number(r.n)]));
  }

  /** Logs every outbox row as it is inserted (the rows themselves are deleted once published), for C10's order check. */
  async installOutboxLog() {
    await this.query(
      'CREATE TABLE chaos_outbox_log (id BIGINT NOT NULL PRIMARY KEY, topic VARCHAR(249) NOT NULL, message_key VARCHAR(64) NOT NULL, event_id CHAR(36) NOT NULL, available_at DATETIME(3) NOT NULL)',
    );
    await this.query(
      'CREATE TRIGGER chaos_outbox_order AFTER INSERT ON outbox FOR EACH ROW INSERT INTO chaos_outbox_log (id, topic, message_key, event_id, available_at) VALUES (NEW.id, NEW.topic, NEW.message_key, NEW.event_id, NEW.available_at)',
    );
  }

  /**
   * Writes the order ids for the checker, one a line: every accepted order (which must exist) and
   * every order in the database (a request that timed out may have created one, which must be
   * terminal too).
   */
  async writeOrders(load) {
    const file = path.join(this.dir, 'orders.txt');
    const ids = new Set(load.accepted.map((a) => a.orderId).filter(Boolean));
    for (const r of await this.query('SELECT id FROM orders')) ids.add(r.id);
    fs.writeFileSync(file, `${[...ids].join('\n')}\n`);
    return file;
  }
}

/** GET /health/ready: { status, body } (status 0: no answer). */
export async function readiness(s, timeoutMs = 3000) {
  try {
    const res = await fetch(`${s.url}/health/ready`, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: await res.json().catch(() => null) };
  } catch (err) {
    return { status: 0, body: null, error: err.code ?? err.name };
  }
}

/** The state of each consumer group in a readiness body, wherever the body puts them: { group: state }. */
export function consumerStates(body, prefix) {
  const out = {};
  const walk = (o) => {
    if (!o || typeof o !== 'object') return;
    for (const [k, v] of Object.entries(o)) {
      if (k.startsWith(prefix) && typeof v === 'string') out[k] = v;
      else if (k.startsWith(prefix) && v && typeof v === 'object' && typeof (v.state ?? v.status) === 'string') out[k] = v.state ?? v.status;
      else walk(v);
    }
  };
  walk(body);
  return out;
}
