// One service process of a chaos scenario: `node dist/main.js`, the whole app, on its own HTTP port,
// its output in a log file. Faults are plain signals to it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** libfaketime of Debian's `faketime` package (the multi-threaded variant: node runs threads). */
export const FAKETIME_LIBS = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1', '/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1'];

export function faketimeLib() {
  return FAKETIME_LIBS.find((f) => fs.existsSync(f)) ?? null;
}

export class ServiceProcess {
  /**
   * @param {{ name: string, root: string, port: number, env: Record<string, string>, logFile: string,
   *   clockFile?: string, log?: (msg: string) => void }} options
   *   clockFile: the process runs under libfaketime with its wall clock offset by what the file says
   *   ("+20s", "-20s"), read again every second; its monotonic clock (timers) is left alone.
   */
  constructor({ name, root, port, env, logFile, clockFile, log = () => {} }) {
    Object.assign(this, { name, root, port, env, logFile, clockFile, log });
    this.child = null;
    this.starts = 0;
    /** Set while stopped with SIGSTOP. */
    this.paused = false;
    /** Set from the start until /health/live answers. */
    this.starting = false;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid() {
    return this.child?.pid;
  }

  running() {
    return Boolean(this.child && this.child.exitCode === null && this.child.signalCode === null);
  }

  /** Starts the process and waits until it answers /health/live. */
  async start({ env = {}, waitMs = 90000 } = {}) {
    if (this.running()) throw new Error(`${this.name} is running already`);
    const out = fs.openSync(this.logFile, 'a');
    fs.writeSync(out, `\n===== ${new Date().toISOString()} start #${this.starts + 1}\n`);
    const childEnv = { ...this.env, ...env, PORT: String(this.port) };
    if (this.clockFile) {
      const lib = faketimeLib();
      if (!lib) throw new Error('libfaketime is not installed (apt-get install -y faketime)');
      Object.assign(childEnv, {
        LD_PRELOAD: lib,
        FAKETIME_TIMESTAMP_FILE: this.clockFile,
        FAKETIME_CACHE_DURATION: '1',
        // Timers and performance.now() run on the monotonic clock: a wall clock that is off does not stop them.
        FAKETIME_DONT_FAKE_MONOTONIC: '1',
      });
    }
    const child = spawn(process.execPath, ['--enable-source-maps', '--max-semi-space-size=64', path.join(this.root, 'dist', 'main.js')], {
      cwd: this.root,
      env: childEnv,
      stdio: ['ignore', out, out],
    });
    fs.closeSync(out);
    this.child = child;
    this.starts += 1;
    this.paused = false;
    child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
    // Not in a load balancer's rotation until it answers.
    this.starting = true;
    try {
      await this.waitLive(waitMs);
    } finally {
      this.starting = false;
    }
    return this;
  }

  /** Resolves with { code, signal, at } once the current process has exited. */
  exited() {
    return this.child?.exited ?? Promise.resolve({ code: null, signal: null, at: Date.now() });
  }

  async waitLive(timeoutMs = 90000) {
    const child = this.child;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${this.name} exited at start (${child.exitCode ?? child.signalCode}); see ${this.logFile}`);
      try {
        const res = await fetch(`${this.url}/health/live`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) return;
      } catch {
        // not up yet
      }
      await sleep(250);
    }
    throw new Error(`${this.name} did not answer /health/live within ${timeoutMs / 1000} s; see ${this.logFile}`);
  }

  /** Sends `sig`; for SIGKILL and SIGTERM waits for the exit and returns it (with how long it took). */
  async signal(sig, { timeoutMs = 60000 } = {}) {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return null;
    const sentAt = Date.now();
    if (this.paused && sig !== 'SIGCONT') child.kill('SIGCONT');
    child.kill(sig);
    if (sig === 'SIGSTOP') this.paused = true;
    if (sig === 'SIGCONT') this.paused = false;
    if (sig !== 'SIGKILL' && sig !== 'SIGTERM') return null;
    const timeout = sleep(timeoutMs).then(() => null);
    let exit = await Promise.race([child.exited, timeout]);
    if (!exit) {
      this.log(`${this.name} still running ${timeoutMs / 1000} s after ${sig}: SIGKILL`);
      child.kill('SIGKILL');
      exit = { ...(await child.exited), forced: true };
    }
    return { ...exit, tookMs: exit.at - sentAt };
  }

  kill() {
    return this.signal('SIGKILL');
  }

  /** SIGTERM; returns { code, signal, tookMs, forced } (forced: it had to be killed after `timeoutMs`). */
  terminate(timeoutMs = 60000) {
    return this.signal('SIGTERM', { timeoutMs });
  }

  pause() {
    return this.signal('SIGSTOP');
  }

  resume() {
    return this.signal('SIGCONT');
  }

  /** The process's /metrics text, or null. */
  async metrics(timeoutMs = 3000) {
    try {
      const res = await fetch(`${this.url}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
      return res.ok ? await res.text() : null;
    } catch {
      return null;
    }
  }
}

/**
 * The value of a metric line `name{labels} value` (summed over label sets when `labels` is omitted);
 * 0 for a metric the process has but has no series of yet (a labelled counter never incremented),
 * null for one it does not have.
 */
export function metricValue(text, name, labels) {
  if (!text) return null;
  let sum = text.includes(`# TYPE ${name} `) ? 0 : null;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    if (labels && !Object.entries(labels).every(([k, v]) => rest.includes(`${k}="${v}"`))) continue;
    const value = Number(rest.slice(rest.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum = (sum ?? 0) + value;
  }
  return sum;
}
