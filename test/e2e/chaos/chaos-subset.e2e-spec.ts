import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../../support/free-port.js';

/**
 * A short subset of the chaos suite (`npm run chaos`, scripts/chaos): a broker outage (C2,
 * shortened), ten kills between a database commit and its offset commit (C4), a SIGTERM under load
 * (C7), and dead-lettered charges replayed after the saga gave up (C9). It runs the suite as a child
 * process on its own MariaDB, broker and ports, and asserts each scenario's result: the invariant
 * checker found nothing and the scenario's own conditions hold. CHAOS_SUBSET=skip leaves it out.
 */
const SUBSET = ['C2', 'C4', 'C7', 'C9'];

/**
 * Conditions known to fail today, left out of the assertions here (not out of the run: the figures are
 * printed) until fixed. None at the moment.
 */
const OPEN: Record<string, string[]> = {};
const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
const describeSubset = process.env.CHAOS_SUBSET === 'skip' ? describe.skip : describe;

interface ScenarioResult {
  id: string;
  ok: boolean;
  error?: string;
  recoverS: number | null;
  checker: { available: boolean; violations: number | null; lines?: string[] };
  conditions: Array<{ name: string; ok: boolean; detail: string }>;
}

describeSubset('chaos subset (C2 shortened, C4 with 10 kills, C7, C9) on real processes', () => {
  const results = new Map<string, ScenarioResult>();
  let log = '';

  beforeAll(
    async () => {
      const dir = path.join(ROOT, '.local', `chaos-test-${process.pid}`);
      const jsonFile = path.join(dir, 'results.json');
      fs.mkdirSync(dir, { recursive: true });
      const kafka = await freePort();
      const ports = {
        CHAOS_DB_PORT: await freePort(),
        CHAOS_DB_PROXY_PORT: await freePort(),
        CHAOS_KAFKA_PORT: kafka,
        CHAOS_KAFKA_CONTROLLER_PORT: await freePort(),
        CHAOS_KAFKA_PROXIED_PORT: await freePort(),
        CHAOS_KAFKA_PROXY_PORT: await freePort(),
        CHAOS_HTTP_PORTS: [await freePort(), await freePort(), await freePort(), await freePort()].join(','),
        CHAOS_OIDC_PORT: await freePort(),
      };
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
        NODE_OPTIONS: '',
        CHAOS_DIR: dir,
        CHAOS_SKIP_BUILD: '1',
        // Short enough for CI: the broker down 20 s in a minute at 100/s; C4's load light, so that what
        // queues up while the groups wait out the killed members' sessions drains fast.
        CHAOS_SCALE: process.env.CHAOS_SCALE ?? '0.33',
        CHAOS_C2_RATE: '100',
        CHAOS_C4_RATE: '20',
        CHAOS_C4_KILLS: '10',
        CHAOS_C4_HOOKED: '3',
      };
      const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'chaos', 'run.mjs'), ...SUBSET, '--json', jsonFile], { cwd: ROOT, env });
      child.stdout.on('data', (d) => (log += d));
      child.stderr.on('data', (d) => (log += d));
      await new Promise((resolve) => child.once('exit', resolve));
      fs.writeFileSync(path.join(dir, 'run.log'), log);
      if (fs.existsSync(jsonFile)) for (const r of JSON.parse(fs.readFileSync(jsonFile, 'utf8')).results as ScenarioResult[]) results.set(r.id, r);
      // The figures, for whoever reads the test output.
      process.stdout.write(
        log
          .split('\n')
          .filter((l) => !/^\[chaos\] (C\d+: \d+ of|kafka:)/.test(l))
          .join('\n'),
      );
      if (results.size === SUBSET.length) fs.rmSync(dir, { recursive: true, force: true });
    },
    15 * 60 * 1000,
  );

  it.each(SUBSET)('%s: every order terminal, 0 violations, its own conditions hold', (id) => {
    const r = results.get(id);
    if (!r) throw new Error(`${id} did not report; the suite's output ends with:\n${log.slice(-3000)}`);
    expect(r.error).toBeUndefined();
    expect({ id, recovered: r.recoverS !== null }).toEqual({ id, recovered: true });
    expect({ id, violations: r.checker.violations, checker: r.checker.lines }).toEqual({ id, violations: 0, checker: r.checker.lines });
    expect(r.conditions.filter((c) => !c.ok && !(OPEN[id] ?? []).includes(c.name))).toEqual([]);
  });
});
