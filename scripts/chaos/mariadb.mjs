// The chaos suite's own MariaDB: its own data directory, port and socket, started with `mariadbd`
// directly, so stopping it, killing it or making it read-only harms nothing else on the machine.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import mysql from 'mysql2/promise';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The service's account: every privilege on its database, none global, so `read_only=ON` binds it. */
export const APP_USER = { user: 'order_flow', password: 'chaos' };
/** The suite's account over TCP, with every privilege (read_only does not bind it). */
const ADMIN_USER = { user: 'chaos_admin', password: 'chaos-admin' };

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export class SuiteMariaDb {
  /** @param {{ dir: string, port: number, log?: (msg: string) => void }} options */
  constructor({ dir, port, log = () => {} }) {
    this.dir = dir;
    this.port = port;
    this.log = log;
    this.dataDir = path.join(dir, 'data');
    this.socket = path.join(dir, 'mariadb.sock');
    this.pidFile = path.join(dir, 'mariadb.pid');
    this.logFile = path.join(dir, 'mariadb.err');
    this.child = null;
  }

  /** mysql2 connection options for the service's account (or the suite's, `admin: true`). */
  connection(database, { admin = false } = {}) {
    const who = admin ? ADMIN_USER : APP_USER;
    // timezone 'Z': the service writes its DATETIME columns in UTC.
    return { host: '127.0.0.1', port: this.port, user: who.user, password: who.password, database, multipleStatements: admin, timezone: 'Z' };
  }

  url(database, port = this.port) {
    return `mariadb://${APP_USER.user}:${APP_USER.password}@127.0.0.1:${port}/${database}`;
  }

  /** A fresh data directory (`mariadb-install-db`), started, with the two accounts. */
  async init() {
    await this.kill();
    fs.rmSync(this.dir, { recursive: true, force: true });
    fs.mkdirSync(this.dir, { recursive: true });
    const r = spawnSync(
      'mariadb-install-db',
      ['--no-defaults', `--datadir=${this.dataDir}`, `--user=${userName()}`, '--auth-root-authentication-method=socket', '--skip-test-db'],
      { encoding: 'utf8' },
    );
    if (r.error) throw new Error(`could not run mariadb-install-db: ${r.error.message}`);
    if (r.status !== 0) throw new Error(`mariadb-install-db failed (${r.status}):\n${r.stdout}${r.stderr}`);
    await this.start();
    // Through the socket as the operating-system user that owns the server (root's unix_socket login).
    const grants = [
      `CREATE USER '${ADMIN_USER.user}'@'127.0.0.1' IDENTIFIED BY '${ADMIN_USER.password}'`,
      `GRANT ALL PRIVILEGES ON *.* TO '${ADMIN_USER.user}'@'127.0.0.1' WITH GRANT OPTION`,
      `CREATE USER '${APP_USER.user}'@'127.0.0.1' IDENTIFIED BY '${APP_USER.password}'`,
    ].join('; ');
    const g = spawnSync('mariadb', ['--no-defaults', `--socket=${this.socket}`, '-u', 'root', '-e', grants], { encoding: 'utf8' });
    if (g.status !== 0) throw new Error(`could not create the suite's accounts: ${g.stderr}`);
  }

  /** Grants the service's account everything on `database` (and only there). */
  async grant(database) {
    await this.admin(`GRANT ALL PRIVILEGES ON \`${database}\`.* TO '${APP_USER.user}'@'127.0.0.1'`);
  }

  async start() {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) return;
    const out = fs.openSync(this.logFile, 'a');
    const args = [
      '--no-defaults',
      `--datadir=${this.dataDir}`,
      `--port=${this.port}`,
      '--bind-address=127.0.0.1',
      `--socket=${this.socket}`,
      `--pid-file=${this.pidFile}`,
      `--user=${userName()}`,
      '--skip-name-resolve',
      // The service writes UTC; the database's own defaults (CURRENT_TIMESTAMP) then agree with it.
      '--default-time-zone=+00:00',
      // Sized to what the longest scenario writes (the 30-minute soak, C12: about 2 GB, half of it the
      // inbox). With 256 MB the soak's database turned IO-bound after a quarter of an hour and the
      // consumers fell behind; a production database is sized to its working set the same way.
      '--innodb-buffer-pool-size=2G',
      '--max-connections=400',
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_unicode_ci',
    ];
    this.child = spawn('mariadbd', args, { stdio: ['ignore', out, out], detached: true });
    fs.closeSync(out);
    this.child.unref();
    const child = this.child;
    const deadline = Date.now() + 60000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`mariadbd exited at start (see ${this.logFile})`);
      if (await canConnect(this.port)) {
        this.log(`MariaDB up on 127.0.0.1:${this.port} (pid ${child.pid})`);
        return;
      }
      await sleep(200);
    }
    throw new Error(`mariadbd did not answer on ${this.port} within 60 s (see ${this.logFile})`);
  }

  get pid() {
    return this.child?.pid;
  }

  running() {
    return Boolean(this.child && this.child.exitCode === null && this.child.signalCode === null);
  }

  /** A clean shutdown (SIGTERM), waiting until the process has gone. */
  async stop() {
    await this.signal('SIGTERM', 60000);
  }

  /** A crash (SIGKILL). */
  async kill() {
    await this.signal('SIGKILL', 10000);
    // A server left over from an earlier run of the suite (its pid file).
    try {
      const pid = Number(fs.readFileSync(this.pidFile, 'utf8').trim());
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes('mariadbd') && cmd.includes(this.dataDir)) {
        process.kill(pid, 'SIGKILL');
        while (fs.existsSync(`/proc/${pid}`)) await sleep(100);
      }
    } catch {
      // none
    }
  }

  async signal(sig, timeoutMs) {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill(sig);
    const timer = sleep(timeoutMs).then(() => 'timeout');
    if ((await Promise.race([gone, timer])) === 'timeout') {
      child.kill('SIGKILL');
      await gone;
    }
    this.log(`MariaDB ${sig === 'SIGKILL' ? 'killed' : 'stopped'}`);
  }

  /** Runs statements as the suite's admin account (one connection each time: the server may have restarted). */
  async admin(sql, params = [], database) {
    const conn = await mysql.createConnection(this.connection(database, { admin: true }));
    try {
      const [rows] = await conn.query(sql, params);
      return rows;
    } finally {
      await conn.end().catch(() => undefined);
    }
  }

  async setReadOnly(on) {
    await this.admin(`SET GLOBAL read_only = ${on ? 'ON' : 'OFF'}`);
  }
}

function userName() {
  return process.getuid?.() === 0 ? 'root' : (process.env.USER ?? 'mysql');
}
