import type { DataSource } from 'typeorm';
import { checkDatabase, type DatabaseCheckOptions, type SqlRunner } from './database.checks.js';
import { checkDlq, type DlqCheckOptions } from './dlq.check.js';
import { checkHttpErrors } from './http-errors.check.js';
import type { InvariantId, InvariantReport, NotChecked, Violation } from './invariants.js';

export interface CheckOptions extends DatabaseCheckOptions {
  /**
   * Re-run the database checks (I1–I5) until they are clean or this many seconds have passed:
   * compensations and stock commits finish after an order's terminal status.
   */
  waitS?: number;
  /** Between two rounds of the database checks while waiting. */
  pollIntervalMs?: number;
  /** I6 is checked only when given. */
  dlq?: DlqCheckOptions;
  /** One /metrics URL per service process; I7 is checked only when given. */
  metricsUrls?: string[];
}

/** Checked on the database whatever the scope (I4 depends on it). */
const DATABASE_INVARIANTS: InvariantId[] = ['I1', 'I2', 'I3', 'I5'];

/**
 * Checks I1–I7 and returns every violation found. The database checks run in one consistent
 * snapshot when given a DataSource (all queries see the same moment). A source that cannot be read
 * (database, Kafka, a metrics URL) is reported in `notChecked` with `failed`, never as clean.
 */
export async function checkInvariants(db: SqlRunner | DataSource, options: CheckOptions = {}): Promise<InvariantReport> {
  const started = Date.now();
  const deadline = started + (options.waitS ?? 0) * 1000;
  const checked: InvariantId[] = [];
  const notChecked: NotChecked[] = [];
  let violations: Violation[] = [];
  let orders = 0;
  let rounds = 0;
  let elapsedMs = 0;

  // The last round that could read the database; a later round that could not changes nothing.
  let result: Awaited<ReturnType<typeof checkDatabase>> | null = null;
  let lastError: Error | null = null;
  for (;;) {
    rounds++;
    try {
      result = await inSnapshot(db, (sql) => checkDatabase(sql, options));
      lastError = null;
    } catch (err) {
      // A database restarting under a chaos run: keep trying while there is time to wait.
      lastError = err as Error;
    }
    elapsedMs = Date.now() - started;
    if ((!lastError && !result?.violations.length) || Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, Math.min(options.pollIntervalMs ?? 500, Math.max(0, deadline - Date.now()))));
  }
  if (result) {
    ({ violations, orders } = result);
    checked.push(...(result.stockChecked ? (['I1', 'I2', 'I3', 'I4', 'I5'] as const) : DATABASE_INVARIANTS));
    if (!result.stockChecked) notChecked.push({ invariant: 'I4', failed: false, reason: 'scoped to orders: ask for stock (--stock) or give a baseline to check their products' });
  } else {
    for (const invariant of ['I1', 'I2', 'I3', 'I4', 'I5'] as const) notChecked.push({ invariant, failed: true, reason: `database: ${lastError?.message}` });
  }

  if (options.dlq) {
    try {
      violations.push(...(await checkDlq(options.dlq)));
      checked.push('I6');
    } catch (err) {
      notChecked.push({ invariant: 'I6', failed: true, reason: `Kafka: ${(err as Error).message}` });
    }
  } else notChecked.push({ invariant: 'I6', failed: false, reason: 'DLQ skipped' });

  if (options.metricsUrls?.length) {
    try {
      violations.push(...(await checkHttpErrors(options.metricsUrls)));
      checked.push('I7');
    } catch (err) {
      notChecked.push({ invariant: 'I7', failed: true, reason: `metrics: ${(err as Error).message}` });
    }
  } else notChecked.push({ invariant: 'I7', failed: false, reason: 'no metrics URL given' });

  // By invariant (a stable sort keeps each check's own order within one).
  violations.sort((a, b) => a.invariant.localeCompare(b.invariant));
  return { violations, checked, notChecked, orders, rounds, elapsedMs };
}

function isDataSource(db: SqlRunner | DataSource): db is DataSource {
  return typeof (db as DataSource).createQueryRunner === 'function';
}

/** Runs `work` in a read-only transaction with one consistent snapshot (REPEATABLE READ). */
async function inSnapshot<T>(db: SqlRunner | DataSource, work: (sql: SqlRunner) => Promise<T>): Promise<T> {
  if (!isDataSource(db)) return work(db);
  const runner = db.createQueryRunner();
  try {
    await runner.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    await runner.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
    try {
      return await work(runner);
    } finally {
      await runner.query('ROLLBACK').catch(() => undefined);
    }
  } finally {
    await runner.release();
  }
}

/** How the CLI ends: 1 on any violation, else 2 when something asked for could not be checked, else 0. */
export function exitCodeOf(report: InvariantReport): 0 | 1 | 2 {
  if (report.violations.length) return 1;
  return report.notChecked.some((n) => n.failed) ? 2 : 0;
}
