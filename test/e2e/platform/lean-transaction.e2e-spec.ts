import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { parseDatabaseUrl } from '../../../src/config/database.config.js';
import { buildDataSourceOptions } from '../../../src/platform/database/database-options.js';
import { leanTransaction } from '../../../src/platform/database/lean-transaction.js';
import { expectRows, RowCountError, SqlBatch } from '../../../src/platform/database/sql-batch.js';

/** LeanTransaction against the real MariaDB: START and COMMIT ride with the first and last statements. */
describe('leanTransaction (real MariaDB)', () => {
  let db: DataSource;
  const table = `lean_tx_${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    const url = process.env.DATABASE_URL ?? 'mariadb://root@127.0.0.1:3306/order_flow_test';
    db = await new DataSource({ ...buildDataSourceOptions({ ...parseDatabaseUrl(url), poolSize: 2 }), migrations: [] }).initialize();
    await db.query(`CREATE TABLE ${table} (id VARCHAR(80) PRIMARY KEY, n INT NOT NULL) ENGINE=InnoDB`);
  });
  afterAll(async () => {
    await db?.query(`DROP TABLE IF EXISTS ${table}`);
    await db?.destroy();
  });

  const count = async (prefix: string) => Number((await db.query(`SELECT COUNT(*) AS n FROM ${table} WHERE id LIKE ?`, [`${prefix}%`]))[0].n);

  it('gives each statement its own result, and commits with the last batch', async () => {
    const p = randomUUID();
    const results = await leanTransaction(db, async (tx) => {
      const first = new SqlBatch();
      first.add(`INSERT INTO ${table} (id, n) VALUES (?, 1), (?, 2)`, [`${p}-a`, `${p}-b`]);
      const read = first.add(`SELECT n FROM ${table} WHERE id LIKE ? ORDER BY n`, [`${p}%`]);
      const [inserted, rows] = await tx.run(first);
      // Not visible to anyone else before the commit.
      expect(await count(p)).toBe(0);
      const last = new SqlBatch();
      last.add(`UPDATE ${table} SET n = n + 10 WHERE id LIKE ?`, [`${p}%`]);
      const [updated] = await tx.run(last, { commit: true });
      expect(read).toBe(1);
      return { inserted, rows, updated };
    });
    expect(results.inserted).toMatchObject({ affectedRows: 2 });
    expect(results.rows).toEqual([{ n: 1 }, { n: 2 }]);
    expect(results.updated).toMatchObject({ affectedRows: 2 });
    expect(await db.query(`SELECT n FROM ${table} WHERE id LIKE ? ORDER BY n`, [`${p}%`])).toEqual([{ n: 11 }, { n: 12 }]);
  });

  it('commits on its own when no batch did', async () => {
    const p = randomUUID();
    await leanTransaction(db, async (tx) => {
      const only = new SqlBatch();
      only.add(`INSERT INTO ${table} (id, n) VALUES (?, 1)`, [`${p}-a`]);
      await tx.run(only);
    });
    expect(await count(p)).toBe(1);
  });

  it('rolls back everything when a statement fails, even one after START in the same round trip', async () => {
    const p = randomUUID();
    await db.query(`INSERT INTO ${table} (id, n) VALUES (?, 0)`, [`${p}-taken`]);
    await expect(
      leanTransaction(db, async (tx) => {
        const batch = new SqlBatch();
        batch.add(`INSERT INTO ${table} (id, n) VALUES (?, 1)`, [`${p}-new`]);
        batch.add(`INSERT INTO ${table} (id, n) VALUES (?, 1)`, [`${p}-taken`]); // duplicate key
        await tx.run(batch, { commit: true });
      }),
    ).rejects.toThrow(/Duplicate entry/);
    // The connection went back to the pool rolled back: the next transactions on both pooled
    // connections work (and their START would have committed a transaction left open).
    await Promise.all(
      [1, 2].map((i) =>
        leanTransaction(db, async (tx) => {
          const b = new SqlBatch();
          b.add(`INSERT INTO ${table} (id, n) VALUES (?, ?)`, [`${p}-after-${i}`, i]);
          await tx.run(b);
        }),
      ),
    );
    expect(await count(`${p}-after`)).toBe(2);
    expect(await count(`${p}-new`)).toBe(0);
  });

  it('rolls back when the work throws after its first batch', async () => {
    const p = randomUUID();
    await expect(
      leanTransaction(db, async (tx) => {
        const b = new SqlBatch();
        b.add(`INSERT INTO ${table} (id, n) VALUES (?, 1)`, [`${p}-a`]);
        await tx.run(b);
        throw new Error('handler failed');
      }),
    ).rejects.toThrow('handler failed');
    expect(await count(p)).toBe(0);
  });

  it('refuses statements after its commit', async () => {
    await expect(
      leanTransaction(db, async (tx) => {
        const b = new SqlBatch();
        b.add('SELECT 1');
        await tx.run(b, { commit: true });
        await tx.run(b);
      }),
    ).rejects.toThrow('the transaction has ended');
  });

  it('checks the row counts declared with add on the results of the same round trip', async () => {
    const p = randomUUID();
    await leanTransaction(db, async (tx) => {
      const batch = new SqlBatch();
      batch.add(`INSERT INTO ${table} (id, n) VALUES (?, 1), (?, 2)`, [`${p}-a`, `${p}-b`], expectRows(2));
      batch.add(`UPDATE ${table} SET n = n + 10 WHERE id LIKE ?`, [`${p}%`], expectRows(2));
      await tx.run(batch);
    });
    expect(await db.query(`SELECT n FROM ${table} WHERE id LIKE ? ORDER BY n`, [`${p}%`])).toEqual([{ n: 11 }, { n: 12 }]);
  });

  it('a row count other than declared rejects the batch with its message, and the transaction rolls back', async () => {
    const p = randomUUID();
    const rejected = leanTransaction(db, async (tx) => {
      const batch = new SqlBatch();
      batch.add(`INSERT INTO ${table} (id, n) VALUES (?, 1)`, [`${p}-a`]);
      batch.add(
        `UPDATE ${table} SET n = 5 WHERE id LIKE ? AND n = 0`,
        [`${p}%`],
        expectRows(1, (changed) => `${changed} row(s) still at 0`),
      );
      await tx.run(batch);
    });
    await expect(rejected).rejects.toThrow(RowCountError);
    await expect(rejected).rejects.toThrow('0 row(s) still at 0');
    expect(await count(p)).toBe(0);
  });

  it('refuses to commit a batch that carries row-count checks (a failed check could no longer undo it)', async () => {
    const p = randomUUID();
    await expect(
      leanTransaction(db, async (tx) => {
        const batch = new SqlBatch();
        batch.add(`INSERT INTO ${table} (id, n) VALUES (?, 1)`, [`${p}-a`], expectRows(1));
        await tx.run(batch, { commit: true });
      }),
    ).rejects.toThrow(/cannot commit/);
    expect(await count(p)).toBe(0);
  });

  it('addRows inserts one row per array, its values in column order, and keeps statement indexes', async () => {
    const p = randomUUID();
    const results = await leanTransaction(db, async (tx) => {
      const batch = new SqlBatch();
      const before = batch.add(`SELECT COUNT(*) AS n FROM ${table} WHERE id LIKE ?`, [`${p}%`]);
      const inserted = batch.addRows(`INSERT INTO ${table} (id, n)`, [
        [`${p}-x`, 7],
        [`${p}-y`, 8],
        [`${p}-z`, 9],
      ]);
      const after = batch.add(`SELECT id, n FROM ${table} WHERE id LIKE ? ORDER BY id`, [`${p}%`]);
      const out = await tx.run(batch, { commit: true });
      return { before: out[before], inserted: out[inserted], after: out[after], indexes: [before, inserted, after] };
    });
    expect(results.indexes).toEqual([0, 1, 2]);
    expect(Number((results.before as Array<{ n: unknown }>)[0].n)).toBe(0);
    expect((results.inserted as { affectedRows: number }).affectedRows).toBe(3);
    expect(results.after).toEqual([
      { id: `${p}-x`, n: 7 },
      { id: `${p}-y`, n: 8 },
      { id: `${p}-z`, n: 9 },
    ]);
  });
});
