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

  /** Adds a statement; returns its index in the results of `run`. */
  add(sql: string, params: unknown[] = []): number {
    this.statements.push(sql.trim().replace(/;$/, ''));
    this.params.push(...params);
    return this.statements.length - 1;
  }

  get size(): number {
    return this.statements.length;
  }

  /** Runs every statement in one round trip; one result per statement, in order. */
  async run(tx: EntityManager): Promise<unknown[]> {
    if (!this.statements.length) return [];
    const result = await tx.query(this.statements.join(';\n'), this.params);
    return this.statements.length === 1 ? [result] : (result as unknown[]);
  }
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
