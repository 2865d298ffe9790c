// Shared steps of `npm start` and `npm test`: dependencies, MariaDB, build, database set-up.
// Only node: built-ins here, so it runs before `npm ci` has installed anything.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function log(msg) {
  console.log(`[order-flow] ${msg}`);
}

/** Runs a command in the repo root, inheriting stdio; throws on a non-zero exit. */
export function run(cmd, args, env = process.env) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', env });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
}

/** `npm ci` when node_modules is missing or older than the lock file. */
export function ensureDependencies() {
  const marker = path.join(ROOT, 'node_modules', '.package-lock.json');
  const lock = path.join(ROOT, 'package-lock.json');
  if (fs.existsSync(marker) && fs.statSync(marker).mtimeMs >= fs.statSync(lock).mtimeMs - 1000) return;
  log('installing dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

/** The Node major the project runs on: package.json `engines`, `.nvmrc`, the npm `node` package, the image. */
export const NODE_MAJOR = 24;

/** The project's own Node binary, installed by `npm ci` from npm's `node` package; null if missing. */
export function projectNode() {
  const bin = path.join(ROOT, 'node_modules', '.bin', process.platform === 'win32' ? 'node.cmd' : 'node');
  return fs.existsSync(bin) ? fs.realpathSync(bin) : null;
}

/**
 * Runs the calling script on the project's Node (node_modules/.bin/node, Node 24). `npm start` and
 * `npm test` put node_modules/.bin first on PATH, so they normally start on it already; not on the
 * first run of a fresh clone, where node_modules does not exist yet and the system's Node (say 20)
 * starts the script. Then, once ensureDependencies() has installed it, the script is run again on
 * the project's Node with the same arguments, and this process only waits for it and exits with its
 * code. Everything the script spawns with process.execPath is on that Node too.
 */
export async function ensureProjectNode() {
  const bin = projectNode();
  if (bin && fs.realpathSync(process.execPath) === bin) return;
  const major = Number(process.versions.node.split('.')[0]);
  if (!bin) {
    if (major >= NODE_MAJOR) return;
    throw new Error(`Node ${process.version} is older than ${NODE_MAJOR} and node_modules/.bin/node is missing: run npm ci (its "node" package installs Node ${NODE_MAJOR}; npm must be allowed to run its install script)`);
  }
  if (process.env.ORDER_FLOW_NODE_REEXEC) throw new Error(`re-executed on ${bin} but still running on ${process.execPath}`);
  log(`started on Node ${process.version}: running again on the project's Node (${path.relative(ROOT, bin)})`);
  const env = { ...process.env, ORDER_FLOW_NODE_REEXEC: '1', PATH: [path.join(ROOT, 'node_modules', '.bin'), process.env.PATH].filter(Boolean).join(path.delimiter) };
  const child = spawn(bin, [...process.execArgv, ...process.argv.slice(1)], { cwd: process.cwd(), env, stdio: 'inherit' });
  // Ctrl-C reaches both processes (one process group); a signal sent to this one alone is passed on.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  const code = await new Promise((resolve) => {
    child.once('error', (err) => {
      log(`could not run ${bin}: ${err.message}`);
      resolve(1);
    });
    child.once('exit', (status, signal) => resolve(status ?? 128 + (os.constants.signals[signal] ?? 0)));
  });
  process.exit(code);
}

function canConnect(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Makes sure the database server of DATABASE_URL answers; starts the local MariaDB if it does not. */
export async function ensureMariaDb(databaseUrl) {
  const u = new URL(databaseUrl);
  const host = u.hostname;
  const port = Number(u.port || 3306);
  if (await canConnect(host, port)) return;
  if (!['127.0.0.1', 'localhost', '::1'].includes(host)) throw new Error(`the database at ${host}:${port} does not answer`);
  log(`MariaDB does not answer on ${host}:${port}: starting it`);
  spawnSync('start-stop-daemon', ['--start', '--oknodo', '--background', '--exec', '/usr/sbin/mariadbd'], { stdio: 'inherit' });
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline) {
    if (await canConnect(host, port)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`MariaDB did not come up on ${host}:${port} within 60 s`);
}

/**
 * Makes sure the Redis of `redisUrl` answers (the e2e tests of the shared rate limit use it); starts a
 * local redis-server (Debian's redis-server package), without persistence, if it does not.
 */
export async function ensureRedis(redisUrl) {
  const u = new URL(redisUrl);
  const host = u.hostname;
  const port = Number(u.port || 6379);
  if (await canConnect(host, port)) return;
  if (!['127.0.0.1', 'localhost', '::1'].includes(host)) throw new Error(`the Redis at ${host}:${port} does not answer`);
  log(`Redis does not answer on ${host}:${port}: starting redis-server`);
  const r = spawnSync('redis-server', ['--bind', host, '--port', String(port), '--save', '', '--appendonly', 'no', '--daemonize', 'yes'], { stdio: 'inherit' });
  if (r.error || r.status !== 0) throw new Error(`could not start redis-server (${r.error?.message ?? `exit ${r.status}`}); install it (apt-get install redis-server)`);
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    if (await canConnect(host, port)) return;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`Redis did not come up on ${host}:${port} within 30 s`);
}

/** Compiles src/ to dist/ (type-checks too). */
export function build() {
  log('building (tsc)');
  run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json']);
}

/** `node dist/cli/db.js <command>` with the given environment. */
export function database(command, env) {
  run(process.execPath, [path.join(ROOT, 'dist', 'cli', 'db.js'), command], env);
}

/** Starts a long-running child process; its output is prefixed and passed through. */
export function startChild(name, cmd, args, env) {
  const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit'] });
  child.on('exit', (code, signal) => log(`${name} exited (${code ?? signal})`));
  return child;
}

export async function waitForHttp(url, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
}
