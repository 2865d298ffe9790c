import type { DataSource, EntityManager } from 'typeorm';
import type { SqlBatch } from './sql-batch.js';

/**
 * A transaction that opens and commits in the same round trips as its first and last statements
 * (`START TRANSACTION; …` and `…; COMMIT`), where TypeORM's `transaction()` spends one round trip
 * on each. For the hot paths (intake, relay, consumer batches).
 */
export class LeanTransaction {
  private state: 'idle' | 'open' | 'done' = 'idle';

  constructor(readonly manager: EntityManager) {}

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Runs `batch` in this transaction (opening it first, in the same round trip); `commit` ends it with the batch. */
  async run(batch: SqlBatch, { commit = false }: { commit?: boolean } = {}): Promise<unknown[]> {
    if (this.state === 'done') throw new Error('the transaction has ended');
    const begin = this.state === 'idle';
    this.state = 'open'; // from here on, a failure must roll back whatever ran
    const results = await batch.run(this.manager, { begin, commit });
    if (commit) this.state = 'done';
    return results;
  }

  /** Commits (a round trip of its own) unless a batch already did. */
  async commit(): Promise<void> {
    if (this.state === 'open') await this.manager.query('COMMIT');
    this.state = 'done';
  }
}

/** Runs `work` in a LeanTransaction on a connection of its own; commits at the end unless `work` did. */
export async function leanTransaction<T>(dataSource: DataSource, work: (tx: LeanTransaction) => Promise<T>): Promise<T> {
  const runner = dataSource.createQueryRunner();
  const tx = new LeanTransaction(runner.manager);
  try {
    const result = await work(tx);
    await tx.commit();
    return result;
  } catch (err) {
    if (tx.isOpen) await runner.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await runner.release();
  }
}
