// The invariant checker (I1-I7), run as its CLI against a scenario's database and broker.
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../lib/infra.mjs';

const CLI = 'check-invariants.js';

export function checkerAvailable() {
  return fs.existsSync(path.join(ROOT, 'dist', 'cli', CLI));
}

/** The products' stock before a run, for I4. */
export async function writeBaseline(ctx) {
  if (!checkerAvailable()) return null;
  const file = path.join(ctx.dir, 'baseline.json');
  await ctx.cli(CLI, ['--write-baseline', file]);
  return file;
}

/**
 * Runs the checker (`--json`); resolves with { available, code, violations, byInvariant, lines, output }.
 * `violations` is the number it found (null when it could not check).
 */
export async function runChecker(ctx, { baseline, ordersFile, metricsUrls = [], allowDlq = 0, waitS = 0 } = {}) {
  if (!checkerAvailable()) return { available: false, code: null, violations: null, lines: [], output: `checker not built (dist/cli/${CLI} missing)` };
  const args = ['--json', '--wait-s', String(waitS)];
  if (baseline) args.push('--baseline', baseline);
  if (ordersFile) args.push('--orders-file', ordersFile);
  for (const url of metricsUrls) args.push('--metrics-url', url);
  if (allowDlq) args.push('--allow-dlq', String(allowDlq));
  const { code, out } = await ctx.cli(CLI, args, { allowFailure: true });
  fs.writeFileSync(path.join(ctx.dir, 'checker.json'), out);
  let report = null;
  try {
    report = JSON.parse(out.slice(out.indexOf('{')));
  } catch {
    return { available: true, code, violations: null, lines: out.trim().split('\n').slice(-10), output: out.trim() };
  }
  const byInvariant = {};
  for (const v of report.violations) byInvariant[v.invariant] = (byInvariant[v.invariant] ?? 0) + 1;
  const lines = [
    ...report.violations
      .slice(0, 12)
      .map(
        (v) =>
          `${v.invariant}  ${v.detail}${v.orderIds?.length ? `  orders: ${v.orderIds.slice(0, 3).join(', ')}${v.orderIds.length > 3 ? ` (+${v.orderIds.length - 3})` : ''}` : ''}`,
      ),
    ...(report.violations.length > 12 ? [`… ${report.violations.length - 12} more`] : []),
    ...report.notChecked.map((n) => `${n.invariant}  ${n.failed ? 'COULD NOT CHECK' : 'not checked'}: ${n.reason}`),
    `${report.orders} orders; checked ${report.checked.join(' ')}; ${report.rounds} round(s) in ${(report.elapsedMs / 1000).toFixed(1)} s`,
  ];
  const couldNot = report.notChecked.some((n) => n.failed);
  return { available: true, code, violations: couldNot ? null : report.violations.length, byInvariant, lines, output: lines.join('\n') };
}
