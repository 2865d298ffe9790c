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
const DATABASE_INVARIANTS: readonly InvariantId[] = ['I1', 'I2', 'I3', 'I5'];
/** Every invariant read from the database. */
const DATABASE_AND_STOCK: readonly InvariantId[] = ['I1', 'I2', 'I3', 'I4', 'I5'];

/**
 * Checks I1–I7 and returns every violation found. The database checks run in one consistent
 * snapshot when given a DataSource (all queries see the same moment). A source that cannot be read
 * (database, Kafka, a metrics URL) is reported in `notChecked` with `failed`, never as clean.
 */
export async function checkInvariants(db: SqlRunner | DataSource, options: CheckOptions = {}): Promise<InvariantReport> {
  const database = await checkDatabaseUntilClean(db, options);
  const parts = [databasePart(database), await dlqPart(options.dlq), await httpErrorsPart(options.metricsUrls)];
  const violations = parts.flatMap((p) => p.violations);
  // By invariant (a stable sort keeps each check's own order within one).
  violations.sort((a, b) => a.invariant.localeCompare(b.invariant));
  return {
    violations,
    checked: parts.flatMap((p) => p.checked),
    notChecked: parts.flatMap((p) => p.notChecked),
    orders: database.result?.orders ?? 0,
    rounds: database.rounds,
    elapsedMs: database.elapsedMs,
  };
}

/** What one source (the database, the DLQ, the metrics) contributes to the report. */
interface Part {
  violations: Violation[];
  checked: InvariantId[];
  notChecked: NotChecked[];
}

interface DatabaseRounds {
  /** The last round that could read the database; a later round that could not changes nothing. */
  result: Awaited<ReturnType<typeof checkDatabase>> | null;
  /** Why the last round could not read the database. */
  lastError: Error | null;
  rounds: number;
  elapsedMs: number;
}

/** Compensations and stock commits finish after an order's terminal status: re-check until clean or out of time. */
async function checkDatabaseUntilClean(db: SqlRunner | DataSource, options: CheckOptions): Promise<DatabaseRounds> {
  const started = Date.now();
  const deadline = started + (options.waitS ?? 0) * 1000;
  const state: DatabaseRounds = { result: null, lastError: null, rounds: 0, elapsedMs: 0 };
  for (;;) {
    state.rounds++;
    try {
      state.result = await inSnapshot(db, (sql) => checkDatabase(sql, options));
      state.lastError = null;
    } catch (err) {
      // A database restarting under a chaos run: keep trying while there is time to wait.
      state.lastError = err as Error;
    }
    state.elapsedMs = Date.now() - started;
    if ((!state.lastError && !state.result?.violations.length) || Date.now() >= deadline) return state;
    await new Promise((r) => setTimeout(r, Math.min(options.pollIntervalMs ?? 500, Math.max(0, deadline - Date.now()))));
  }
}

function databasePart({ result, lastError }: DatabaseRounds): Part {
  if (!result) {
    return { violations: [], checked: [], notChecked: DATABASE_AND_STOCK.map((invariant) => ({ invariant, failed: true, reason: `database: ${lastError?.message}` })) };
  }
  if (result.stockChecked) return { violations: result.violations, checked: [...DATABASE_AND_STOCK], notChecked: [] };
  const notChecked = [{ invariant: 'I4' as const, failed: false, reason: 'scoped to orders: ask for stock (--stock) or give a baseline to check their products' }];
  return { violations: result.violations, checked: [...DATABASE_INVARIANTS], notChecked };
}

async function dlqPart(dlq: DlqCheckOptions | undefined): Promise<Part> {
  if (!dlq) return { violations: [], checked: [], notChecked: [{ invariant: 'I6', failed: false, reason: 'DLQ skipped' }] };
  try {
    return { violations: await checkDlq(dlq), checked: ['I6'], notChecked: [] };
  } catch (err) {
    return { violations: [], checked: [], notChecked: [{ invariant: 'I6', failed: true, reason: `Kafka: ${(err as Error).message}` }] };
  }
}

async function httpErrorsPart(metricsUrls: string[] | undefined): Promise<Part> {
  if (!metricsUrls?.length) return { violations: [], checked: [], notChecked: [{ invariant: 'I7', failed: false, reason: 'no metrics URL given' }] };
  try {
    return { violations: await checkHttpErrors(metricsUrls), checked: ['I7'], notChecked: [] };
  } catch (err) {
    return { violations: [], checked: [], notChecked: [{ invariant: 'I7', failed: true, reason: `metrics: ${(err as Error).message}` }] };
  }
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
