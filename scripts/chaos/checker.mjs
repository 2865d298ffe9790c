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
 * Runs the checker; resolves with { available, code, violations, output }. `violations` is the
 * number the checker reports (null when it could not say).
 */
export async function runChecker(ctx, { baseline, orders, metricsUrls = [], allowDlq = 0, waitS = 0 } = {}) {
  if (!checkerAvailable()) return { available: false, code: null, violations: null, output: `checker not built (dist/cli/${CLI} missing)` };
  const args = ['--wait-s', String(waitS)];
  if (baseline) args.push('--baseline', baseline);
  if (orders) args.push('--orders', orders);
  for (const url of metricsUrls) args.push('--metrics-url', url);
  if (allowDlq) args.push('--allow-dlq', String(allowDlq));
  const { code, out } = await ctx.cli(CLI, args, { allowFailure: true });
  fs.writeFileSync(path.join(ctx.dir, 'checker.txt'), out);
  return { available: true, code, violations: countViolations(out, code), output: out.trim() };
}

/** The violation count from the checker's output ("N violation(s)"), else 0 on exit 0 and null otherwise. */
export function countViolations(out, code) {
  const m = /(\d+)\s+violations?/i.exec(out);
  if (m) return Number(m[1]);
  return code === 0 ? 0 : null;
}
