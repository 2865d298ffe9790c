// Ends a scenario the same way for all: waits until every order is terminal, runs the invariant
// checker, evaluates the scenario's own conditions and prints the figures.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runChecker } from './checker.mjs';
import { formatCounts } from './load.mjs';
import { TERMINAL } from './stack.mjs';

/**
 * @param {import('./stack.mjs').ScenarioContext} ctx
 * @param {{ title: string, load: import('./load.mjs').Load, faultEnd: number, baseline?: string|null,
 *   recoveryTimeoutS?: number, allowDlq?: number | (() => Promise<number>), conditions?: () => Promise<Array<{ name: string, ok: boolean, detail: string }>>,
 *   notes?: string[], metricsFrom?: Array<import('./service.mjs').ServiceProcess>, skipTerminalWait?: boolean }} o
 */
export async function finish(ctx, o) {
  const { load } = o;
  const allTerminalAt = await ctx.untilTerminal({ expected: load.accepted.length, timeoutS: o.recoveryTimeoutS ?? 300 });
  const recoverS = allTerminalAt === null ? null : Math.max(0, (allTerminalAt - o.faultEnd) / 1000);
  const counts = await ctx.statusCounts();
  const terminal = Object.fromEntries([...counts].filter(([s]) => TERMINAL.includes(s)).sort());
  const open = Object.fromEntries([...counts].filter(([s]) => !TERMINAL.includes(s)).sort());
  const ordersFile = await ctx.writeOrders(load);
  const metricsUrls = (o.metricsFrom ?? ctx.services.filter((s) => s?.running() && !s.paused)).map((s) => `${s.url}/metrics`);
  const allowDlq = typeof o.allowDlq === 'function' ? await o.allowDlq() : (o.allowDlq ?? 0);
  const checker = await runChecker(ctx, { baseline: o.baseline, ordersFile, metricsUrls, allowDlq, waitS: allTerminalAt === null ? 30 : 10 });
  const conditions = o.conditions ? await o.conditions() : [];
  const latencies = load.latencies.map(([, l]) => l).sort((a, b) => a - b);
  const pct = (p) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)] : NaN);
  const result = {
    id: ctx.id,
    title: o.title,
    commit: ctx.stack.commit,
    offered: load.offered,
    rate: load.rate,
    accepted: load.accepted.length,
    answers: Object.fromEntries(load.answers),
    terminal,
    notTerminal: open,
    postLatencyMs: { p50: round(pct(50)), p99: round(pct(99)), max: round(latencies.at(-1) ?? NaN) },
    loadAverage: { start: ctx.loadAverage, end: round(os.loadavg()[0]) },
    recoverS,
    recoveryTimeoutS: o.recoveryTimeoutS ?? 300,
    checker: { available: checker.available, code: checker.code, violations: checker.violations, byInvariant: checker.byInvariant ?? {}, lines: checker.lines },
    conditions,
    notes: o.notes ?? [],
  };
  result.ok = checker.violations === 0 && allTerminalAt !== null && conditions.every((c) => c.ok);
  fs.writeFileSync(path.join(ctx.dir, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
  print(result, checker.output);
  return result;
}

function print(r, checkerOutput) {
  const line = (label, text) => console.log(`   ${label.padEnd(18)} ${text}`);
  const others = Object.entries(r.answers).filter(([k]) => k !== '202');
  const terminalSum = Object.values(r.terminal).reduce((a, b) => a + b, 0);
  const openSum = Object.values(r.notTerminal).reduce((a, b) => a + b, 0);
  console.log(`\n== ${r.id}  ${r.title}`);
  line('offered', `${r.offered} at ${r.rate}/s`);
  line('accepted (202)', String(r.accepted));
  line('POST latency', `p50 ${r.postLatencyMs.p50} ms, p99 ${r.postLatencyMs.p99} ms, max ${r.postLatencyMs.max} ms`);
  line('other answers', others.length ? formatCounts(new Map(others)) : 'none');
  line('terminal', `${terminalSum} of ${terminalSum + openSum} orders: ${formatCounts(new Map(Object.entries(r.terminal)))}`);
  if (openSum) line('not terminal', formatCounts(new Map(Object.entries(r.notTerminal))));
  line(
    'time to recover',
    r.recoverS === null ? `not recovered: orders still open ${r.recoveryTimeoutS} s after the load` : `${r.recoverS.toFixed(1)} s (fault end → every order terminal)`,
  );
  const by = Object.entries(r.checker.byInvariant ?? {}).map(([i, n]) => `${i} ${n}`);
  line('violations', r.checker.available ? `${r.checker.violations ?? 'could not check'}${by.length ? ` (${by.join(', ')})` : ''}` : 'checker not available');
  if (checkerOutput && r.checker.violations !== 0) {
    for (const l of checkerOutput.split('\n').slice(0, 40)) console.log(`      | ${l}`);
  }
  for (const c of r.conditions) line(c.ok ? '[ok]' : '[FAIL]', `${c.name}: ${c.detail}`);
  for (const n of r.notes) line('note', n);
  line('machine', `load average ${r.loadAverage.start} at the start, ${r.loadAverage.end} at the end (${os.availableParallelism()} cores)`);
  line('result', r.ok ? 'PASS' : 'FAIL');
}

/** The summary table of a sitting (Markdown), as docs/reliability.md holds it. */
export function summaryTable(results) {
  const rows = ['| id | offered | accepted | other answers | terminal | recover s | violations | own conditions | result |', '|---|---|---|---|---|---|---|---|---|'];
  for (const r of results) {
    if (r.error) {
      rows.push(`| ${r.id} | | | | | | | error: ${r.error.replaceAll('|', '/').slice(0, 120)} | FAIL |`);
      continue;
    }
    const others = Object.entries(r.answers).filter(([k]) => k !== '202');
    const terminalSum = Object.values(r.terminal).reduce((a, b) => a + b, 0);
    const openSum = Object.values(r.notTerminal).reduce((a, b) => a + b, 0);
    const conds = r.conditions.map((c) => `${c.ok ? '✓' : '✗'} ${c.name}`).join('; ');
    const by = Object.entries(r.checker.byInvariant ?? {}).map(([i, n]) => `${i}×${n}`);
    rows.push(
      `| ${r.id} | ${r.offered} | ${r.accepted} | ${others.map(([k, n]) => `${k}×${n}`).join(' ') || '-'} | ${terminalSum}/${terminalSum + openSum} | ${r.recoverS === null ? 'no' : r.recoverS.toFixed(1)} | ${r.checker.available ? `${r.checker.violations ?? 'could not check'}${by.length ? ` (${by.join(' ')})` : ''}` : 'n/a'} | ${conds || '-'} | ${r.ok ? 'PASS' : 'FAIL'} |`,
    );
  }
  return rows.join('\n');
}

const round = (v) => (Number.isFinite(v) ? Math.round(v * 10) / 10 : null);

/** A condition: `{ name, ok, detail }`. */
export const condition = (name, ok, detail) => ({ name, ok: Boolean(ok), detail });
