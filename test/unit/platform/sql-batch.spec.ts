import { queryOnlyManager } from '../../support/query-only-manager.js';
import { expectRows, RowCountError, SqlBatch } from '../../../src/platform/database/sql-batch.js';

describe('SqlBatch row-count checks', () => {
  it('runs nothing when nothing was added', async () => {
    const { tx, calls } = queryOnlyManager(() => {
      throw new Error('no round trip expected');
    });
    await expect(new SqlBatch().run(tx)).resolves.toEqual([]);
    expect(calls).toEqual([]);
  });

  it('sends every statement in one round trip and accepts the declared row counts', async () => {
    const { tx, calls } = queryOnlyManager(() => [{ affectedRows: 2 }, { affectedRows: 1 }, { affectedRows: 5 }]);
    const write = new SqlBatch();
    write.add(
      'UPDATE a SET x = ? WHERE id IN (?, ?)',
      [1, 'p', 'q'],
      expectRows(2, () => 'a changed'),
    );
    write.add('INSERT INTO b VALUES (?)', [7]);
    write.add(
      'UPDATE c SET y = ?',
      [3],
      expectRows(5, () => 'c changed'),
    );
    await write.run(tx);
    expect(calls).toHaveLength(1);
    expect(calls[0].params).toEqual([1, 'p', 'q', 7, 3]);
  });

  it('throws the first mismatch, in the order the statements were added, with the count it found', async () => {
    const { tx } = queryOnlyManager(() => [{ affectedRows: 1 }, { affectedRows: 0 }, { affectedRows: 0 }]);
    const write = new SqlBatch();
    write.add(
      'UPDATE a SET x = 1',
      [],
      expectRows(1, () => 'a'),
    );
    write.add(
      'UPDATE b SET x = 1',
      [],
      expectRows(2, (n) => `b changed ${n} of 2`),
    );
    write.add(
      'UPDATE c SET x = 1',
      [],
      expectRows(1, () => 'c'),
    );
    await expect(write.run(tx)).rejects.toThrow(new RowCountError('b changed 0 of 2'));
  });

  it('refuses to commit a batch with checks: a failed check after the COMMIT could undo nothing', async () => {
    const { tx, calls } = queryOnlyManager(() => []);
    const write = new SqlBatch();
    write.add('UPDATE a SET x = 1', [], expectRows(1));
    await expect(write.run(tx, { commit: true })).rejects.toThrow(/cannot commit/);
    expect(calls).toEqual([]);
  });
});
