#!/usr/bin/env node
// Local single-node Apache Kafka (KRaft) for development and tests, without Docker.
//
// Fetches the official Kafka jars from Maven Central with Maven, formats a
// single-node KRaft broker+controller on 127.0.0.1 and runs it in the background.
// Dependency-free: only node: built-ins.
//
//   node scripts/kafka.mjs install|start|stop|status|wait [--port N] [--controller-port N]
//        [--data-dir DIR] [--security plain|scram] [--kafka-version V] [--timeout SECONDS]
//
// Environment (CLI flags win over the environment, which wins over the defaults):
//   KAFKA_BROKERS          use this existing cluster: start does nothing, wait waits for it
//   KAFKA_PORT             client listener port                (9092)
//   KAFKA_CONTROLLER_PORT  KRaft controller listener port      (KAFKA_PORT + 1 = 9093)
//   KAFKA_DATA_DIR         data dir                            (.local/kafka-data, scram: .local/kafka-scram-data)
//   KAFKA_VERSION          Kafka version from Maven Central    (DEFAULT_KAFKA_VERSION)
//   KAFKA_NUM_PARTITIONS   default partitions of new topics    (6)
//   KAFKA_SECURITY         plain | scram                       (plain)
//   KAFKA_ADMIN_USER       scram super user                    (admin)
//   KAFKA_ADMIN_PASSWORD   its password                        (admin-secret)
//   KAFKA_SCRAM_USERS      extra scram users "u1:p1,u2:p2", created when the data dir is formatted
//   KAFKA_HEAP_OPTS        JVM heap options                    (-Xmx512m -Xms256m)
//   KAFKA_INSTALL_DIR      where versions are installed        (.local/kafka)
//   KAFKA_START_TIMEOUT    seconds to wait for readiness       (90)
//
// Programmatic use (e.g. a Jest globalSetup):
//   import { startKafka, stopKafka } from '../scripts/kafka.mjs';
//   const { brokers, startedByUs } = await startKafka({ port: 19092 });
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const DEFAULT_KAFKA_VERSION = '4.1.2';
const SCALA_VERSION = '2.13';
const LOG4J_VERSION = '2.24.3';
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_HEAP_OPTS = '-Xmx512m -Xms256m';
const PID_FILE = 'kafka.pid';
const LOG_FILE = 'kafka.log';
const MARKER_FILE = '.installed';
const OFFSETS_TOPIC_PARTITIONS = 10;

// ---------------------------------------------------------------------------
// options

function envInt(name, value) {
  if (value === undefined || value === null || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got "${value}"`);
  return n;
}

function parseScramUsers(value) {
  if (!value) return [];
  if (Array.isArray(value)) return value.map((u) => (typeof u === 'string' ? parseScramUsers(u)[0] : u));
  return String(value)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((pair) => {
      const i = pair.indexOf(':');
      if (i <= 0 || i === pair.length - 1) throw new Error(`KAFKA_SCRAM_USERS: expected "user:password", got "${pair}"`);
      return { username: pair.slice(0, i), password: pair.slice(i + 1) };
    });
}

/**
 * Extra plain listeners (`[{ name, port, advertisedPort }]`), each advertising its own address: a
 * client that bootstraps through a proxy on `advertisedPort` in front of `port` is told to use the
 * proxy for everything (the chaos suite cuts one service process off the broker this way).
 */
function parseExtraListeners(list) {
  if (!list) return [];
  return list.map((l) => {
    const name = String(l.name).toUpperCase();
    if (!/^[A-Z][A-Z0-9_]*$/.test(name) || ['CLIENT', 'CONTROLLER'].includes(name)) throw new Error(`bad listener name "${l.name}"`);
    const port = envInt(`${name} port`, l.port);
    return { name, port, advertisedPort: envInt(`${name} advertised port`, l.advertisedPort ?? port) };
  });
}

/**
 * Merges options (highest priority), environment and defaults.
 * Fields: brokers, port, controllerPort, dataDir, version, numPartitions, security, adminUser,
 * adminPassword, scramUsers, heapOpts, installDir, timeoutMs, log, extraListeners (options only).
 */
export function resolveOptions(opts = {}) {
  const env = opts.env ?? process.env;
  const pick = (key, envName) => (opts[key] !== undefined && opts[key] !== null && opts[key] !== '' ? opts[key] : env[envName]);
  const security = String(pick('security', 'KAFKA_SECURITY') || 'plain').toLowerCase();
  if (security !== 'plain' && security !== 'scram') throw new Error(`security must be "plain" or "scram", got "${security}"`);
  const dataDirIn = pick('dataDir', 'KAFKA_DATA_DIR');
  const installDirIn = pick('installDir', 'KAFKA_INSTALL_DIR');
  const timeoutSec = envInt('KAFKA_START_TIMEOUT', env.KAFKA_START_TIMEOUT);
  const o = {
    brokers: pick('brokers', 'KAFKA_BROKERS') || undefined,
    port: envInt('port', pick('port', 'KAFKA_PORT')) ?? 9092,
    controllerPort: envInt('controllerPort', pick('controllerPort', 'KAFKA_CONTROLLER_PORT')),
    dataDir: dataDirIn ? path.resolve(String(dataDirIn)) : path.join(REPO_ROOT, security === 'scram' ? '.local/kafka-scram-data' : '.local/kafka-data'),
    version: String(pick('version', 'KAFKA_VERSION') || DEFAULT_KAFKA_VERSION),
    numPartitions: envInt('numPartitions', pick('numPartitions', 'KAFKA_NUM_PARTITIONS')) ?? 6,
    security,
    adminUser: String(pick('adminUser', 'KAFKA_ADMIN_USER') || 'admin'),
    adminPassword: String(pick('adminPassword', 'KAFKA_ADMIN_PASSWORD') || 'admin-secret'),
    scramUsers: parseScramUsers(pick('scramUsers', 'KAFKA_SCRAM_USERS')),
    heapOpts: String(pick('heapOpts', 'KAFKA_HEAP_OPTS') || DEFAULT_HEAP_OPTS),
    extraListeners: parseExtraListeners(opts.extraListeners),
    installRoot: installDirIn ? path.resolve(String(installDirIn)) : path.join(REPO_ROOT, '.local/kafka'),
    timeoutMs: opts.timeoutMs ?? (timeoutSec ? timeoutSec * 1000 : 90_000),
    log: opts.log === false ? () => {} : typeof opts.log === 'function' ? opts.log : (msg) => console.log(`kafka: ${msg}`),
  };
  o.controllerPort ??= o.port + 1; // 9093 by default; follows --port so side-by-side brokers need one flag
  if (o.extraListeners.length && security !== 'plain') throw new Error('extra listeners are for the plain broker only');
  if (o.port === o.controllerPort) throw new Error(`port and controller port must differ (both ${o.port})`);
  o._resolved = true;
  o.installDir = path.join(o.installRoot, o.version);
  o.libsDir = path.join(o.installDir, 'libs');
  o.pidFile = path.join(o.dataDir, PID_FILE);
  o.logFile = path.join(o.dataDir, LOG_FILE);
  o.localBrokers = `127.0.0.1:${o.port}`;
  return o;
}

const rel = (p) => {
  const r = path.relative(process.cwd(), p);
  return r && !r.startsWith('..') && !path.isAbsolute(r) ? r : p;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------
// install

function javaBin() {
  return process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

function pomXml(version) {
  const dep = (g, a, v) => `    <dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- generated by scripts/kafka.mjs: the jars needed to run a Kafka broker and its storage tool -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.kafka</groupId>
  <artifactId>kafka-local-runtime</artifactId>
  <version>${version}</version>
  <packaging>pom</packaging>
  <dependencies>
${dep('org.apache.kafka', `kafka_${SCALA_VERSION}`, version)}
${dep('org.apache.logging.log4j', 'log4j-core', LOG4J_VERSION)}
${dep('org.apache.logging.log4j', 'log4j-slf4j-impl', LOG4J_VERSION)}
  </dependencies>
</project>
`;
}

function isInstalled(o) {
  return fs.existsSync(path.join(o.installDir, MARKER_FILE)) && fs.existsSync(o.libsDir);
}

/** Downloads the Kafka jars with Maven into <installDir>/<version>/libs unless already there. */
export async function ensureInstalled(opts = {}) {
  const o = opts._resolved ? opts : resolveOptions(opts);
  if (isInstalled(o)) {
    o.log(`Apache Kafka ${o.version} already installed in ${rel(o.installDir)}`);
    return { version: o.version, libsDir: o.libsDir, installedNow: false };
  }
  const t0 = Date.now();
  o.log(`installing Apache Kafka ${o.version} (kafka_${SCALA_VERSION} from Maven Central) into ${rel(o.installDir)}`);
  fs.mkdirSync(o.installDir, { recursive: true });
  fs.writeFileSync(path.join(o.installDir, 'pom.xml'), pomXml(o.version));
  // download into a private folder, then rename: concurrent installs cannot see half a libs folder
  const tmpLibs = path.join(o.installDir, `libs.tmp-${process.pid}`);
  fs.rmSync(tmpLibs, { recursive: true, force: true });
  const mvn = process.env.MVN || 'mvn';
  const args = [
    '-B',
    '-q',
    '-Dstyle.color=never',
    '-f',
    path.join(o.installDir, 'pom.xml'),
    'dependency:copy-dependencies',
    '-DincludeScope=runtime',
    `-DoutputDirectory=${tmpLibs}`,
  ];
  o.log(`running ${mvn} ${args.join(' ')}`);
  const res = spawnSync(mvn, args, { cwd: o.installDir, encoding: 'utf8', shell: process.platform === 'win32' });
  if (res.error) throw new Error(`could not run Maven (${mvn}): ${res.error.message}. Install Maven 3 and Java 17+.`);
  if (res.status !== 0) {
    fs.rmSync(tmpLibs, { recursive: true, force: true });
    const out = `${res.stdout || ''}${res.stderr || ''}`.trim().split('\n').slice(-30).join('\n');
    throw new Error(`Maven failed (exit ${res.status}) fetching Apache Kafka ${o.version}:\n${out}`);
  }
  const jars = fs.readdirSync(tmpLibs).filter((f) => f.endsWith('.jar'));
  if (!jars.includes(`kafka_${SCALA_VERSION}-${o.version}.jar`)) throw new Error(`Maven did not fetch kafka_${SCALA_VERSION}-${o.version}.jar`);
  try {
    fs.renameSync(tmpLibs, o.libsDir);
  } catch (e) {
    // another process finished first
    fs.rmSync(tmpLibs, { recursive: true, force: true });
    if (!fs.existsSync(o.libsDir)) throw e;
  }
  fs.writeFileSync(path.join(o.installDir, MARKER_FILE), `${o.version}\n${jars.sort().join('\n')}\n`);
  o.log(`installed ${jars.length} jars in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  return { version: o.version, libsDir: o.libsDir, installedNow: true };
}

// ---------------------------------------------------------------------------
// configuration files

function serverProperties(o) {
  const scram = o.security === 'scram';
  const lines = [
    '# generated by scripts/kafka.mjs on every start: edit the script, not this file',
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${o.controllerPort}`,
    `listeners=${[`CLIENT://127.0.0.1:${o.port}`, `CONTROLLER://127.0.0.1:${o.controllerPort}`, ...o.extraListeners.map((l) => `${l.name}://127.0.0.1:${l.port}`)].join(',')}`,
    `advertised.listeners=${[`CLIENT://127.0.0.1:${o.port}`, ...o.extraListeners.map((l) => `${l.name}://127.0.0.1:${l.advertisedPort}`)].join(',')}`,
    `listener.security.protocol.map=${[`CLIENT:${scram ? 'SASL_PLAINTEXT' : 'PLAINTEXT'}`, 'CONTROLLER:PLAINTEXT', ...o.extraListeners.map((l) => `${l.name}:PLAINTEXT`)].join(',')}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=CLIENT',
    `log.dirs=${path.join(o.dataDir, 'kraft-logs')}`,
    `num.partitions=${o.numPartitions}`,
    'default.replication.factor=1',
    'offsets.topic.replication.factor=1',
    `offsets.topic.num.partitions=${OFFSETS_TOPIC_PARTITIONS}`,
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=10',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'min.insync.replicas=1',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=false',
    'delete.topic.enable=true',
    'log.segment.bytes=16777216',
    'log.retention.hours=24',
    // Kafka deletes a segment once its newest record is past the retention: rolling daily keeps a
    // record readable for at most about 48 h, well inside INBOX_RETENTION_HOURS (docs/reliability.md).
    'log.roll.hours=24',
    'log.retention.check.interval.ms=60000',
    'num.network.threads=2',
    'num.io.threads=4',
    'num.recovery.threads.per.data.dir=1',
  ];
  if (scram) {
    const jaas = 'org.apache.kafka.common.security.scram.ScramLoginModule required ' + `username=${jaasQuote(o.adminUser)} password=${jaasQuote(o.adminPassword)};`;
    lines.push(
      'sasl.enabled.mechanisms=SCRAM-SHA-512',
      'listener.name.client.sasl.enabled.mechanisms=SCRAM-SHA-512',
      'sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512',
      `listener.name.client.scram-sha-512.sasl.jaas.config=${jaas.replace(/\\/g, '\\\\')}`,
      'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      'allow.everyone.if.no.acl.found=false',
      // ANONYMOUS is the principal of the PLAINTEXT controller listener (127.0.0.1 only): the
      // broker registers with the controller through it, so it must be a super user.
      `super.users=User:${o.adminUser};User:ANONYMOUS`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function jaasQuote(s) {
  return `"${String(s).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

const LOG4J2_PROPERTIES = `# generated by scripts/kafka.mjs
status = warn
name = kafka-local
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
`;

// ---------------------------------------------------------------------------
// process helpers

function readPid(o) {
  try {
    const pid = Number(fs.readFileSync(o.pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/** True if pid is alive and is a Kafka JVM (so a recycled pid is never mistaken for our broker). */
function isKafkaProcess(pid) {
  if (!pid || !isAlive(pid)) return false;
  let cmd = '';
  try {
    cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    const r = spawnSync('ps', ['-p', String(pid), '-o', 'command='], { encoding: 'utf8' });
    if (r.status !== 0) return r.error ? true : false; // no ps: trust the pid
    cmd = r.stdout;
  }
  // a zombie has an empty command line
  return cmd.includes('kafka.Kafka');
}

function tail(file, lines = 40) {
  try {
    const fd = fs.openSync(file, 'r');
    const size = fs.fstatSync(fd).size;
    const len = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, size - len);
    fs.closeSync(fd);
    let text = buf.toString('utf8');
    const run = text.lastIndexOf('\n===== '); // the last start's output only
    if (run >= 0) text = text.slice(run + 1);
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function portInUse(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    const done = (v) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(1000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

// ---------------------------------------------------------------------------
// minimal Kafka protocol client (non-flexible request versions only)

class KafkaConn {
  static connect(host, port, timeoutMs) {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host, port });
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`connect timeout to ${host}:${port}`));
      }, timeoutMs);
      sock.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      sock.once('connect', () => {
        clearTimeout(timer);
        resolve(new KafkaConn(sock));
      });
    });
  }

  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.corr = 0;
    this.waiting = new Map();
    this.closedErr = null;
    sock.on('data', (d) => this.onData(d));
    const fail = (e) => {
      this.closedErr = e || new Error('connection closed by the broker');
      for (const { reject } of this.waiting.values()) reject(this.closedErr);
      this.waiting.clear();
    };
    sock.on('error', fail);
    sock.on('close', () => fail());
  }

  onData(d) {
    this.buf = Buffer.concat([this.buf, d]);
    while (this.buf.length >= 4) {
      const size = this.buf.readInt32BE(0);
      if (this.buf.length < 4 + size) break;
      const frame = this.buf.subarray(4, 4 + size);
      this.buf = this.buf.subarray(4 + size);
      const corr = frame.readInt32BE(0);
      const w = this.waiting.get(corr);
      if (w) {
        this.waiting.delete(corr);
        w.resolve(new Reader(frame.subarray(4)));
      }
    }
  }

  request(apiKey, apiVersion, body, timeoutMs = 5000) {
    if (this.closedErr) return Promise.reject(this.closedErr);
    const corr = ++this.corr;
    const clientId = Buffer.from('kafka.mjs');
    const header = Buffer.alloc(10);
    header.writeInt16BE(apiKey, 0);
    header.writeInt16BE(apiVersion, 2);
    header.writeInt32BE(corr, 4);
    header.writeInt16BE(clientId.length, 8);
    const payload = Buffer.concat([header, clientId, body]);
    const size = Buffer.alloc(4);
    size.writeInt32BE(payload.length);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(corr);
        reject(new Error(`no response to api ${apiKey} v${apiVersion} within ${timeoutMs}ms`));
      }, timeoutMs);
      this.waiting.set(corr, {
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.sock.write(Buffer.concat([size, payload]));
    });
  }

  close() {
    this.sock.destroy();
  }
}

class Reader {
  constructor(buf) {
    this.b = buf;
    this.o = 0;
  }
  int8() {
    return this.b.readInt8((this.o += 1) - 1);
  }
  int16() {
    return this.b.readInt16BE((this.o += 2) - 2);
  }
  int32() {
    return this.b.readInt32BE((this.o += 4) - 4);
  }
  string() {
    const n = this.int16();
    if (n < 0) return null;
    const s = this.b.toString('utf8', this.o, this.o + n);
    this.o += n;
    return s;
  }
  bytes() {
    const n = this.int32();
    if (n < 0) return null;
    const v = this.b.subarray(this.o, this.o + n);
    this.o += n;
    return v;
  }
  array(fn) {
    const n = this.int32();
    const out = [];
    for (let i = 0; i < n; i++) out.push(fn(this));
    return out;
  }
}

const enc = {
  int8: (v) => Buffer.from([v & 0xff]),
  int32: (v) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    return b;
  },
  string: (s) => {
    const d = Buffer.from(s, 'utf8');
    const b = Buffer.alloc(2);
    b.writeInt16BE(d.length);
    return Buffer.concat([b, d]);
  },
  bytes: (d) => Buffer.concat([enc.int32(d.length), d]),
};

const API = { METADATA: 3, SASL_HANDSHAKE: 17, API_VERSIONS: 18, SASL_AUTHENTICATE: 36 };

function pickVersion(versions, apiKey, lo, hi) {
  const r = versions.get(apiKey);
  if (!r) throw new Error(`broker does not support api ${apiKey}`);
  const v = Math.min(hi, r.max);
  if (v < Math.max(lo, r.min)) throw new Error(`no common version for api ${apiKey} (broker ${r.min}-${r.max}, ours ${lo}-${hi})`);
  return v;
}

async function apiVersions(conn) {
  // v0: the broker answers v0-shaped even when it does not support the version we ask for
  const r = await conn.request(API.API_VERSIONS, 0, Buffer.alloc(0));
  const errorCode = r.int16();
  const list = r.array((x) => ({ key: x.int16(), min: x.int16(), max: x.int16() }));
  if (errorCode !== 0) throw new Error(`ApiVersions error code ${errorCode}`);
  if (list.length === 0) throw new Error('ApiVersions returned no apis');
  return new Map(list.map((a) => [a.key, a]));
}

function scramEscape(name) {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

async function saslScram512(conn, versions, username, password) {
  const hv = pickVersion(versions, API.SASL_HANDSHAKE, 1, 1);
  const h = await conn.request(API.SASL_HANDSHAKE, hv, enc.string('SCRAM-SHA-512'));
  const herr = h.int16();
  const mechs = h.array((x) => x.string());
  if (herr !== 0) throw new Error(`SaslHandshake error code ${herr} (broker mechanisms: ${mechs.join(',')})`);
  const av = pickVersion(versions, API.SASL_AUTHENTICATE, 0, 1);
  const auth = async (msg) => {
    const r = await conn.request(API.SASL_AUTHENTICATE, av, enc.bytes(Buffer.from(msg, 'utf8')));
    const err = r.int16();
    const emsg = r.string();
    const bytes = r.bytes();
    if (err !== 0) throw new Error(`SASL authentication failed for ${username}: ${emsg || `error code ${err}`}`);
    return bytes ? bytes.toString('utf8') : '';
  };
  const nonce = crypto.randomBytes(24).toString('base64');
  const clientFirstBare = `n=${scramEscape(username)},r=${nonce}`;
  const serverFirst = await auth(`n,,${clientFirstBare}`);
  const attrs = Object.fromEntries(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)]));
  if (!attrs.r || !attrs.r.startsWith(nonce) || !attrs.s || !attrs.i) throw new Error(`bad SCRAM server-first message: ${serverFirst}`);
  const salted = crypto.pbkdf2Sync(Buffer.from(password, 'utf8'), Buffer.from(attrs.s, 'base64'), Number(attrs.i), 64, 'sha512');
  const hmac = (key, data) => crypto.createHmac('sha512', key).update(data).digest();
  const clientKey = hmac(salted, 'Client Key');
  const storedKey = crypto.createHash('sha512').update(clientKey).digest();
  const finalNoProof = `c=biws,r=${attrs.r}`;
  const authMessage = `${clientFirstBare},${serverFirst},${finalNoProof}`;
  const sig = hmac(storedKey, authMessage);
  const proof = Buffer.alloc(clientKey.length);
  for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i] ^ sig[i];
  const serverFinal = await auth(`${finalNoProof},p=${proof.toString('base64')}`);
  const expected = hmac(hmac(salted, 'Server Key'), authMessage).toString('base64');
  if (serverFinal !== `v=${expected}`) throw new Error(`SCRAM server signature mismatch: ${serverFinal}`);
}

async function metadata(conn, versions) {
  const v = pickVersion(versions, API.METADATA, 4, 8);
  const parts = [enc.int32(0), enc.int8(0)]; // no topics, allow_auto_topic_creation=false
  if (v >= 8) parts.push(enc.int8(0), enc.int8(0));
  const r = await conn.request(API.METADATA, v, Buffer.concat(parts));
  r.int32(); // throttle_time_ms
  const brokers = r.array((x) => ({ nodeId: x.int32(), host: x.string(), port: x.int32(), rack: x.string() }));
  const clusterId = r.string();
  const controllerId = r.int32();
  return { brokers, clusterId, controllerId };
}

/**
 * One readiness probe against host:port: ApiVersions, then (after SCRAM-SHA-512 authentication
 * in scram mode) a Metadata request that must list at least one broker and a controller.
 */
async function openConn({ host = '127.0.0.1', port, security = 'plain', username, password, timeoutMs = 5000 }) {
  const conn = await KafkaConn.connect(host, port, Math.min(timeoutMs, 3000));
  try {
    const versions = await apiVersions(conn);
    if (security === 'scram') await saslScram512(conn, versions, username, password);
    return { conn, versions };
  } catch (e) {
    conn.close();
    throw e;
  }
}

export async function probeKafka(target) {
  const { conn, versions } = await openConn(target);
  try {
    const md = await metadata(conn, versions);
    if (md.brokers.length === 0 || md.controllerId < 0) throw new Error('metadata has no brokers/controller yet');
    return md;
  } finally {
    conn.close();
  }
}

function javaHashCode(str) {
  let h = 0;
  for (let i = 0; i < str.length; i++) h = (Math.imul(31, h) + str.charCodeAt(i)) | 0;
  return h;
}

/** Group ids that land on each partition of __consumer_offsets (abs(hashCode) % n, as Kafka does). */
function warmupGroupIds(n) {
  const byPartition = new Map();
  for (let i = 0; byPartition.size < n && i < 10_000; i++) {
    const g = `kafka.mjs-warmup-${i}`;
    const h = javaHashCode(g);
    const p = (h === -2147483648 ? 0 : Math.abs(h)) % n;
    if (!byPartition.has(p)) byPartition.set(p, g);
  }
  return [...byPartition.values()];
}

/**
 * Makes the group coordinator (__consumer_offsets) and the producer id manager ready, so the first
 * consumer group and idempotent producer of a test do not hit COORDINATOR_LOAD_IN_PROGRESS.
 * Best effort: returns an error message instead of throwing.
 */
async function warmUp(o, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last = 'timeout';
  let conn;
  const findCoordinator = (key) => async (c, v) => {
    const ver = pickVersion(v, 10, 1, 2); // FindCoordinator (v3+ is flexible)
    const r = await c.request(10, ver, Buffer.concat([enc.string(key), enc.int8(0)]));
    r.int32();
    return r.int16();
  };
  // OffsetFetch answers COORDINATOR_LOAD_IN_PROGRESS until the coordinator has loaded the partition
  const offsetFetch = (group) => async (c, v) => {
    const ver = pickVersion(v, 9, 2, 5); // OffsetFetch (v6+ is flexible)
    const r = await c.request(9, ver, Buffer.concat([enc.string(group), enc.int32(-1)]));
    if (ver >= 3) r.int32();
    if (r.int32() !== 0) return 0; // a warm-up group with commits: the coordinator answered
    return r.int16();
  };
  const steps = [
    // one group id per __consumer_offsets partition: each partition's coordinator loads on its own
    ...warmupGroupIds(OFFSETS_TOPIC_PARTITIONS).flatMap((g) => [
      [`group coordinator for ${g}`, findCoordinator(g)],
      [`offsets of ${g}`, offsetFetch(g)],
    ]),
    [
      'producer id manager',
      async (c, v) => {
        const ver = pickVersion(v, 22, 0, 1); // InitProducerId (v2+ is flexible), no transactional id
        const r = await c.request(22, ver, Buffer.concat([Buffer.from([0xff, 0xff]), enc.int32(60_000)]));
        r.int32();
        return r.int16();
      },
    ],
  ];
  try {
    for (const [name, step] of steps) {
      for (;;) {
        try {
          if (!conn) conn = await openConn({ port: o.port, security: o.security, username: o.adminUser, password: o.adminPassword });
          const err = await step(conn.conn, conn.versions);
          if (err === 0) break;
          last = `${name}: error code ${err}`;
        } catch (e) {
          last = `${name}: ${e.message}`;
          conn?.conn.close();
          conn = undefined;
        }
        if (Date.now() > deadline) return last;
        await sleep(200);
      }
    }
    return null;
  } finally {
    conn?.conn.close();
  }
}

function parseBrokers(brokers) {
  return String(brokers)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((hp) => {
      const m = /^(?:\[(.+)\]|([^:]+)):(\d+)$/.exec(hp);
      if (!m) throw new Error(`bad broker address "${hp}" (expected host:port)`);
      return { host: m[1] || m[2], port: Number(m[3]) };
    });
}

// ---------------------------------------------------------------------------
// commands

/** Waits until the broker(s) answer ApiVersions + Metadata. Uses KAFKA_BROKERS when set. */
export async function waitForKafka(opts = {}) {
  const o = opts._resolved ? opts : resolveOptions(opts);
  const external = Boolean(o.brokers) && !opts._local;
  const brokers = external ? o.brokers : o.localBrokers;
  const targets = parseBrokers(brokers);
  const deadline = Date.now() + o.timeoutMs;
  const alive = opts._alive; // () => boolean, set by startKafka to stop early if the JVM died
  let lastErr;
  for (;;) {
    for (const t of targets) {
      try {
        const md = await probeKafka({
          ...t,
          security: o.security,
          username: o.adminUser,
          password: o.adminPassword,
          timeoutMs: Math.max(1000, Math.min(5000, deadline - Date.now())),
        });
        return { brokers, startedByUs: false, clusterId: md.clusterId };
      } catch (e) {
        lastErr = e;
        // wrong credentials will not fix themselves
        if (/SASL authentication failed/.test(e.message)) throw e;
      }
    }
    if (alive && !alive()) {
      const err = new Error(`Kafka broker exited during startup. Last lines of ${o.logFile}:\n${tail(o.logFile)}`);
      err.code = 'KAFKA_EXITED';
      throw err;
    }
    if (Date.now() >= deadline) {
      const where = external ? '' : ` Last lines of ${o.logFile}:\n${tail(o.logFile)}`;
      const err = new Error(`Kafka at ${brokers} not ready after ${Math.round(o.timeoutMs / 1000)}s (last error: ${lastErr?.message}).${where}`);
      err.code = 'KAFKA_TIMEOUT';
      throw err;
    }
    await sleep(300);
  }
}

async function withLock(o, fn) {
  const lock = path.join(o.dataDir, 'start.lock');
  fs.mkdirSync(o.dataDir, { recursive: true });
  const deadline = Date.now() + o.timeoutMs + 30_000;
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      const owner = Number(fs.readFileSync(lock, 'utf8').trim() || 0);
      if (!owner || !isAlive(owner)) {
        fs.rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${lock} is held by pid ${owner}`);
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

function formatStorage(o, java, cp) {
  const logDirs = path.join(o.dataDir, 'kraft-logs');
  if (fs.existsSync(path.join(logDirs, 'meta.properties'))) return;
  // Like Kafka's own Uuid.randomUuid(): never starting with '-', which the storage tool would read as an option.
  let clusterId;
  do clusterId = crypto.randomBytes(16).toString('base64url');
  while (clusterId.startsWith('-'));
  const args = [
    '-Xmx256m',
    `-Dlog4j2.configurationFile=${path.join(o.dataDir, 'log4j2.properties')}`,
    '-cp',
    cp,
    'kafka.tools.StorageTool',
    'format',
    '--config',
    path.join(o.dataDir, 'server.properties'),
    '--cluster-id',
    clusterId,
  ];
  const users = [];
  if (o.security === 'scram') {
    for (const u of [{ username: o.adminUser, password: o.adminPassword }, ...o.scramUsers]) {
      if (/["\\]/.test(u.username) || /["\\]/.test(u.password)) throw new Error(`SCRAM user/password must not contain " or \\ (${u.username})`);
      args.push('--add-scram', `SCRAM-SHA-512=[name="${u.username}",password="${u.password}"]`);
      users.push(u.username);
    }
  }
  o.log(`formatting KRaft storage in ${rel(logDirs)} (cluster id ${clusterId}${users.length ? `, SCRAM-SHA-512 users: ${users.join(', ')}` : ''})`);
  const r = spawnSync(java, args, { cwd: o.dataDir, encoding: 'utf8' });
  if (r.error) throw new Error(`could not run ${java}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`kafka-storage format failed (exit ${r.status}):\n${`${r.stdout}${r.stderr}`.trim()}`);
  fs.writeFileSync(path.join(o.dataDir, 'format.json'), `${JSON.stringify({ security: o.security, users, clusterId }, null, 2)}\n`);
}

function warnUnformattedUsers(o) {
  if (o.security !== 'scram') return;
  try {
    const f = JSON.parse(fs.readFileSync(path.join(o.dataDir, 'format.json'), 'utf8'));
    const missing = [o.adminUser, ...o.scramUsers.map((u) => u.username)].filter((u) => !f.users.includes(u));
    if (missing.length)
      o.log(`WARNING: SCRAM users ${missing.join(', ')} did not exist when ${rel(o.dataDir)} was formatted and were not created (stop, delete the data dir and start again)`);
  } catch {
    /* formatted by something else */
  }
}

/**
 * Starts the local broker (installing and formatting as needed) and waits until it is ready.
 * Returns { brokers, startedByUs, pid, dataDir, logFile, security }.
 */
export async function startKafka(opts = {}) {
  const o = resolveOptions(opts);
  if (o.brokers) {
    o.log(`KAFKA_BROKERS is set (${o.brokers}): using the existing cluster`);
    return { brokers: o.brokers, startedByUs: false, security: o.security };
  }
  const result = (pid, startedByUs) => ({
    brokers: o.localBrokers,
    startedByUs,
    pid,
    dataDir: o.dataDir,
    logFile: o.logFile,
    security: o.security,
  });
  return withLock(o, async () => {
    const oldPid = readPid(o);
    if (oldPid && isKafkaProcess(oldPid)) {
      // ours: either ready or still starting up
      const ready = await probeKafka({ port: o.port, security: o.security, username: o.adminUser, password: o.adminPassword }).then(
        () => true,
        () => false,
      );
      if (ready) {
        o.log(`reusing running broker (pid ${oldPid}) at ${o.localBrokers}`);
      } else {
        o.log(`broker pid ${oldPid} is running but not ready yet: waiting`);
        await waitForKafka({ ...o, _local: true, _alive: () => isAlive(oldPid) });
        o.log(`broker ready at ${o.localBrokers} (pid ${oldPid})`);
      }
      warnUnformattedUsers(o);
      return result(oldPid, false);
    }
    if (oldPid) {
      o.log(`removing stale pid file ${rel(o.pidFile)} (pid ${oldPid} is not running)`);
      fs.rmSync(o.pidFile, { force: true });
    }
    for (const [name, port] of [['port', o.port], ['controller port', o.controllerPort], ...o.extraListeners.map((l) => [`${l.name} listener port`, l.port])]) {
      if (await portInUse(port))
        throw new Error(
          `${name} ${port} on 127.0.0.1 is already in use by another process (another Kafka with another data dir?). ` +
            'Stop it, or choose other ports with --port/--controller-port or KAFKA_PORT/KAFKA_CONTROLLER_PORT.',
        );
    }

    await ensureInstalled(o);
    const java = javaBin();
    const cp = `${o.libsDir}${path.sep}*`;
    fs.writeFileSync(path.join(o.dataDir, 'server.properties'), serverProperties(o));
    fs.writeFileSync(path.join(o.dataDir, 'log4j2.properties'), LOG4J2_PROPERTIES);
    formatStorage(o, java, cp);
    warnUnformattedUsers(o);

    try {
      if (fs.statSync(o.logFile).size > 50 * 1024 * 1024) fs.renameSync(o.logFile, `${o.logFile}.1`);
    } catch {
      /* no log yet */
    }
    const heap = o.heapOpts.split(/\s+/).filter(Boolean);
    const args = [
      ...heap,
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-XX:InitiatingHeapOccupancyPercent=35',
      '-XX:+ExplicitGCInvokesConcurrent',
      '-XX:+ExitOnOutOfMemoryError',
      '-Djava.awt.headless=true',
      `-Dlog4j2.configurationFile=${path.join(o.dataDir, 'log4j2.properties')}`,
      '-cp',
      cp,
      'kafka.Kafka',
      path.join(o.dataDir, 'server.properties'),
    ];
    const t0 = Date.now();
    const out = fs.openSync(o.logFile, 'a');
    fs.writeSync(out, `\n===== ${new Date().toISOString()} scripts/kafka.mjs: ${java} ${args.join(' ')}\n`);
    const child = spawn(java, args, { cwd: o.dataDir, detached: true, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    const spawnError = await new Promise((resolve) => {
      child.once('error', resolve);
      child.once('spawn', () => resolve(null));
    });
    if (spawnError) throw new Error(`could not start ${java}: ${spawnError.message}`);
    let exited = false;
    child.once('exit', () => (exited = true));
    child.unref();
    fs.writeFileSync(o.pidFile, `${child.pid}\n`);
    o.log(`started broker pid ${child.pid} (${o.security}, ${o.heapOpts}) on ${o.localBrokers}, controller 127.0.0.1:${o.controllerPort}, log ${rel(o.logFile)}`);
    try {
      await waitForKafka({ ...o, _local: true, _alive: () => !exited && isAlive(child.pid) });
    } catch (e) {
      if (e.code === 'KAFKA_TIMEOUT') {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      fs.rmSync(o.pidFile, { force: true });
      throw e;
    }
    const warm = await warmUp(o);
    if (warm) o.log(`WARNING: warm-up incomplete (${warm}); clients may see retriable COORDINATOR_LOAD_IN_PROGRESS errors`);
    o.log(`broker ready at ${o.localBrokers} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    return result(child.pid, true);
  });
}

/** Stops the local broker of the data dir: SIGTERM, up to 30 s, then SIGKILL. */
export async function stopKafka(opts = {}) {
  const o = resolveOptions(opts);
  const pid = readPid(o);
  if (!pid || !isKafkaProcess(pid)) {
    if (pid) fs.rmSync(o.pidFile, { force: true });
    o.log(`not running (data dir ${rel(o.dataDir)})`);
    return { stopped: false, pid };
  }
  o.log(`stopping broker pid ${pid} (SIGTERM)`);
  const t0 = Date.now();
  process.kill(pid, 'SIGTERM');
  const graceMs = opts.graceMs ?? 30_000;
  while (isAlive(pid) && isKafkaProcess(pid) && Date.now() - t0 < graceMs) await sleep(200);
  if (isAlive(pid) && isKafkaProcess(pid)) {
    o.log(`broker pid ${pid} still running after ${graceMs / 1000}s: SIGKILL`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    while (isAlive(pid) && isKafkaProcess(pid)) await sleep(100);
  }
  fs.rmSync(o.pidFile, { force: true });
  o.log(`stopped in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  return { stopped: true, pid };
}

/** Reports whether the broker of the data dir runs and answers. */
export async function kafkaStatus(opts = {}) {
  const o = resolveOptions(opts);
  const pid = readPid(o);
  const running = Boolean(pid && isKafkaProcess(pid));
  let ready = false;
  if (running) {
    ready = await probeKafka({ port: o.port, security: o.security, username: o.adminUser, password: o.adminPassword }).then(
      () => true,
      () => false,
    );
  }
  return { running, ready, pid: running ? pid : undefined, brokers: o.localBrokers, dataDir: o.dataDir, security: o.security };
}

// ---------------------------------------------------------------------------
// CLI

const USAGE = `usage: node scripts/kafka.mjs <install|start|stop|status|wait> [options]
  --port N             client port (KAFKA_PORT, 9092)
  --controller-port N  KRaft controller port (KAFKA_CONTROLLER_PORT, port + 1 = 9093)
  --data-dir DIR       data dir (KAFKA_DATA_DIR, .local/kafka-data or .local/kafka-scram-data)
  --security MODE      plain | scram (KAFKA_SECURITY, plain)
  --kafka-version V    Kafka version (KAFKA_VERSION, ${DEFAULT_KAFKA_VERSION})
  --timeout SECONDS    readiness timeout (KAFKA_START_TIMEOUT, 90)`;

function parseArgs(argv) {
  const flags = {
    '--port': 'port',
    '--controller-port': 'controllerPort',
    '--data-dir': 'dataDir',
    '--security': 'security',
    '--kafka-version': 'version',
    '--timeout': 'timeout',
  };
  const opts = {};
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let v;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) [a, v] = [a.slice(0, eq), a.slice(eq + 1)];
    if (a === '-h' || a === '--help') return { help: true };
    if (flags[a]) {
      if (v === undefined) v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      opts[flags[a]] = v;
    } else if (a.startsWith('-')) throw new Error(`unknown option ${a}\n${USAGE}`);
    else rest.push(a);
  }
  if (opts.timeout !== undefined) {
    opts.timeoutMs = Number(opts.timeout) * 1000;
    delete opts.timeout;
  }
  return { command: rest[0], opts };
}

async function main(argv) {
  const { command, opts, help } = parseArgs(argv);
  if (help || !command) {
    console.log(USAGE);
    return help ? 0 : 2;
  }
  switch (command) {
    case 'install':
      await ensureInstalled(opts);
      return 0;
    case 'start':
      await startKafka(opts);
      return 0;
    case 'stop':
      await stopKafka(opts);
      return 0;
    case 'wait': {
      const o = resolveOptions(opts);
      const t0 = Date.now();
      const r = await waitForKafka(o);
      o.log(`ready at ${r.brokers} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
      return 0;
    }
    case 'status': {
      const s = await kafkaStatus(opts);
      const log = (m) => console.log(`kafka: ${m}`);
      if (s.running) log(`running (pid ${s.pid}, port ${s.brokers.split(':')[1]}, ${s.security}, ${s.ready ? 'ready' : 'NOT answering'}, data dir ${rel(s.dataDir)})`);
      else log(`not running (port ${s.brokers.split(':')[1]}, data dir ${rel(s.dataDir)})`);
      return s.running && s.ready ? 0 : 1;
    }
    default:
      console.error(`unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}

const invokedDirectly = (() => {
  try {
    return process.argv[1] && import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
})();

if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(`kafka: ERROR: ${e.message}`);
      process.exit(1);
    },
  );
}
