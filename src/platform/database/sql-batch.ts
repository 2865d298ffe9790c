import type { EntityManager } from 'typeorm';

/**
 * Several statements sent to the database in one round trip (mysql2 `multipleStatements`), inside
 * the caller's transaction. Values are still bound through placeholders. The hot paths (intake, each
 * saga step) are dominated by round trips, not by the work of each statement.
 *
 * When a statement fails, the server runs none after it and the error rejects `run`, so the
 * caller's transaction rolls back as with single statements.
 */
export class SqlBatch {
  private readonly statements: string[] = [];
  private readonly params: unknown[] = [];
  private readonly checks: Array<{ index: number; check: RowCheck }> = [];

  /**
   * Adds a statement; returns its index in the results of `run`. With `check`, `run` fails unless the
   * statement changed exactly `check.rows` rows (read from the results it already has: no extra query).
   */
  add(sql: string, params: unknown[] = [], check?: RowCheck): number {
    this.statements.push(sql.trim().replace(/;$/, ''));
    this.params.push(...params);
    const index = this.statements.length - 1;
    if (check) this.checks.push({ index, check });
    return index;
  }

  /**
   * Adds `statement VALUES (?,…),(?,…)` with one placeholder group per row (each row an array of its
   * values, in column order), then `tail` (e.g. `ON DUPLICATE KEY UPDATE …`); returns its index in the
   * results of `run`.
   */
  addRows(statement: string, rows: ReadonlyArray<readonly unknown[]>, tail = ''): number {
    return this.add(`${statement} VALUES ${rows.map((row) => `(${placeholders(row)})`).join(',')}${tail ? ` ${tail}` : ''}`, rows.flat());
  }

  get size(): number {
    return this.statements.length;
  }

  /**
   * Runs every statement in one round trip; one result per statement, in order. `begin`/`commit`
   * wrap them in START TRANSACTION/COMMIT in the same round trip (see LeanTransaction). Then checks
   * the row counts declared with `add`; a mismatch rejects, so the caller's transaction rolls back.
   */
  async run(tx: EntityManager, { begin = false, commit = false }: { begin?: boolean; commit?: boolean } = {}): Promise<unknown[]> {
    // A check that fails after the COMMIT could no longer undo anything.
    if (commit && this.checks.length) throw new Error('a batch with row-count checks cannot commit: the check would come after the commit');
    const statements = [...(begin ? ['START TRANSACTION'] : []), ...this.statements, ...(commit ? ['COMMIT'] : [])];
    if (!statements.length) return [];
    const result = await tx.query(statements.join(';\n'), this.params);
    const results = statements.length === 1 ? [result] : (result as unknown[]);
    const own = results.slice(begin ? 1 : 0, (begin ? 1 : 0) + this.statements.length);
    this.checkRows(own);
    return own;
  }

  private checkRows(results: unknown[]): void {
    for (const { index, check } of this.checks) {
      const affected = affectedRows(results[index]);
      if (affected !== check.rows) throw new RowCountError(check.mismatch(affected));
    }
  }
}

/** How many rows a statement must change, and what it means when it changed another number. */
export interface RowCheck {
  rows: number;
  mismatch: (affected: number) => string;
}

/** `check` for `SqlBatch.add`: the statement must change exactly `rows` rows. */
export function expectRows(rows: number, mismatch: (affected: number) => string = (affected) => `expected ${rows} row(s) changed, got ${affected}`): RowCheck {
  return { rows, mismatch };
}

/** A statement changed another number of rows than its batch declared. */
export class RowCountError extends Error {
  override readonly name = 'RowCountError';
}

/** A value a statement computes in SQL (`sql`, with its own placeholders bound to `params`) where a plain one would be `?`. */
export interface SqlValue {
  sql: string;
  params: unknown[];
}

/** `?,?,?`: one placeholder per value, for an `IN (…)` list. */
export function placeholders(values: readonly unknown[]): string {
  return values.map(() => '?').join(',');
}

/**
 * `JSON_TABLE(?, …) AS alias`: a table of keys (one column, `id`, of `type`) whose parameter is the
 * keys as a JSON array. Joined first (`… STRAIGHT_JOIN orders o ON o.id = alias.id`), it makes a
 * statement over many rows find each by its key: with `id IN (…)` the optimizer may take a secondary
 * index (e.g. the status index) or scan a small table instead, and lock far more rows and gaps than the
 * statement touches, so rows inserted meanwhile wait on those locks and deadlock.
 */
export function keyTable(alias: string, type = 'CHAR(36)'): string {
  return `JSON_TABLE(?, '$[*]' COLUMNS (id ${type} PATH '$')) AS ${alias}`;
}

/** Rows changed by an INSERT/UPDATE/DELETE result. */
export function affectedRows(result: unknown): number {
  if (result && typeof result === 'object' && !Array.isArray(result)) {
    const r = result as { affectedRows?: number; affected?: number };
    return r.affectedRows ?? r.affected ?? 0;
  }
  if (Array.isArray(result) && result.length === 2 && typeof result[1] === 'number') return result[1];
  if (Array.isArray(result) && result.length && typeof result[0] === 'object') return affectedRows(result[0]);
  return 0;
}
