#!/usr/bin/env node
// `npm run chaos [C1 C2 …] [--json FILE]`: the chaos suite on real processes (docs/reliability.md,
// "Chaos suite"). Builds, starts the suite's own MariaDB and broker, runs each scenario in turn on
// fresh data, prints each one's figures and a summary table, stops everything it started.
// Exit code 0 only if every scenario passed.
//
// Environment: CHAOS_SCALE (durations and counts, default 1), CHAOS_C4_KILLS, CHAOS_SEED (C11),
// CHAOS_DIR (.local/chaos), CHAOS_DB_PORT (3407, proxy +1), CHAOS_KAFKA_PORT (19792: controller +1,
// proxied listener +2, its proxy +3), CHAOS_HTTP_PORT (3401-3403), CHAOS_OIDC_PORT (4401),
// CHAOS_SKIP_BUILD=1 (dist/ is fresh already).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, build, ensureDependencies } from '../lib/infra.mjs';

const args = process.argv.slice(2);
const jsonAt = args.indexOf('--json');
const jsonFile = jsonAt >= 0 ? path.resolve(args[jsonAt + 1]) : null;
const ids = args.filter((a, i) => !a.startsWith('--') && (jsonAt < 0 || i !== jsonAt + 1)).map((a) => a.toUpperCase());

ensureDependencies();
const { SCENARIOS, SCALE } = await import('./scenarios.mjs');
const { ChaosStack, stackConfig } = await import('./stack.mjs');
const { summaryTable } = await import('./report.mjs');
const { faketimeLib } = await import('./service.mjs');

const chosen = ids.length ? ids : Object.keys(SCENARIOS);
const unknown = chosen.filter((id) => !SCENARIOS[id]);
if (unknown.length) {
  console.error(`unknown scenario(s) ${unknown.join(', ')}; the scenarios are ${Object.keys(SCENARIOS).join(' ')}`);
  process.exit(2);
}

if (chosen.includes('C8') && !faketimeLib()) installFaketime();
if (process.env.CHAOS_SKIP_BUILD !== '1') build();

const stack = new ChaosStack(stackConfig());
stack.commit = commitOf();
let stopping = false;
const stopAll = async (code) => {
  if (stopping) return;
  stopping = true;
  await stack.down();
  process.exit(code);
};
process.on('SIGINT', () => void stopAll(130));
process.on('SIGTERM', () => void stopAll(143));

const results = [];
const started = Date.now();
try {
  console.log(`[chaos] scenarios ${chosen.join(' ')} at scale ${SCALE}, commit ${stack.commit}`);
  await stack.up();
  for (const id of chosen) {
    const t0 = Date.now();
    try {
      const r = await SCENARIOS[id](stack);
      r.seconds = Math.round((Date.now() - t0) / 1000);
      results.push(r);
    } catch (err) {
      console.error(`[chaos] ${id} could not run: ${err.stack ?? err.message}`);
      results.push({ id, error: err.message, ok: false, seconds: Math.round((Date.now() - t0) / 1000) });
    } finally {
      await cleanUp();
    }
    if (jsonFile) writeJson();
  }
} finally {
  await stack.down();
}

console.log(
  `\n[chaos] ${results.filter((r) => r.ok).length} of ${results.length} scenarios passed in ${Math.round((Date.now() - started) / 1000)} s (scale ${SCALE}, commit ${stack.commit})\n`,
);
console.log(summaryTable(results));
if (jsonFile) writeJson();
process.exit(results.every((r) => r.ok) ? 0 : 1);

/** Between scenarios: no service left running, the database up and writable, the broker up. */
async function cleanUp() {
  for (const s of stack.services) {
    if (s.paused) await s.resume();
    await s.kill();
  }
  stack.services = [];
  stack.dbProxy.heal();
  stack.kafkaProxy.heal();
  if (!stack.db.running()) await stack.db.start();
  await stack.db.setReadOnly(false).catch(() => undefined);
  await stack.startBroker();
}

function writeJson() {
  fs.writeFileSync(jsonFile, `${JSON.stringify({ commit: stack.commit, scale: SCALE, results }, null, 2)}\n`);
}

function commitOf() {
  const r = spawnSync('git', ['describe', '--always', '--dirty', '--abbrev=7'], { cwd: ROOT, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'unknown';
}

/** C8 needs libfaketime (Debian's `faketime`): installed here when we may. */
function installFaketime() {
  console.log('[chaos] C8 needs libfaketime: apt-get install -y faketime');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '-qq', 'faketime'], { stdio: 'inherit', env });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    r = spawnSync('apt-get', ['install', '-y', '-qq', 'faketime'], { stdio: 'inherit', env });
  }
  if (r.status !== 0) console.error('[chaos] could not install faketime: C8 will fail');
}
