import type { EntityManager } from 'typeorm';
import { affectedRows, SqlBatch } from '../../platform/database/sql-batch.js';

interface Expectation {
  at: number;
  rows: number;
  failure: (changed: number) => string;
}

/**
 * A write round trip whose guarded statements declare, as they are added, how many rows they must
 * change. Any other count throws once the round trip is back, so the caller's transaction rolls back
 * (the message processor then retries the batch one message at a time).
 */
export class GuardedWrite {
  readonly batch = new SqlBatch();
  private readonly expectations: Expectation[] = [];

  /** Adds `sql`, which must change exactly `rows` rows; `failure` explains a different count. */
  expectRows(sql: string, params: unknown[], rows: number, failure: (changed: number) => string): void {
    this.expectations.push({ at: this.batch.add(sql, params), rows, failure });
  }

  /** Runs every statement in one round trip (none when nothing was added), then checks the counts in order. */
  async run(tx: EntityManager): Promise<void> {
    if (!this.batch.size) return;
    const results = await this.batch.run(tx);
    for (const { at, rows, failure } of this.expectations) {
      const changed = affectedRows(results[at]);
      if (changed !== rows) throw new Error(failure(changed));
    }
  }
}
