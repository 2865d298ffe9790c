import { isTransient } from '../../../src/platform/messaging/transient-error.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';

/**
 * A replica that hangs (or loses its network) inside a transaction must not keep its row locks for as
 * long as the database keeps its session: the database ends the session after
 * DATABASE_IDLE_TRANSACTION_TIMEOUT_S, and the other replicas get the rows (real MariaDB).
 */
describe('a session idle inside a transaction (real MariaDB)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ groups: [], env: { DATABASE_IDLE_TRANSACTION_TIMEOUT_S: '2' } });
  });
  afterAll(async () => {
    await t?.close();
    delete process.env.DATABASE_IDLE_TRANSACTION_TIMEOUT_S;
  });

  it('is ended by the database, so the rows it locked are free for others well before their lock wait runs out', async () => {
    const hung = t.dataSource.createQueryRunner();
    const other = t.dataSource.createQueryRunner();
    try {
      await hung.startTransaction();
      const [{ id }] = (await hung.query('SELECT id FROM schema_migrations ORDER BY id LIMIT 1 FOR UPDATE')) as Array<{ id: number }>;
      // ... and then it hangs: no further statement, no commit.

      await other.query('SET SESSION innodb_lock_wait_timeout = 30');
      await other.startTransaction();
      const started = Date.now();
      await expect(other.query('SELECT id FROM schema_migrations WHERE id = ? FOR UPDATE', [id])).resolves.toEqual([{ id }]);
      expect(Date.now() - started).toBeLessThan(15_000);
      await other.commitTransaction();

      // When the hung replica wakes up, its transaction is gone: a fault it retries, like any lost connection.
      const err = await hung.query('SELECT 1').then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).not.toBeNull();
      expect(isTransient(err)).toBe(true);
    } finally {
      await other.release();
      await hung.release().catch(() => undefined);
    }
  });

  it('leaves a session that keeps working inside its transaction alone', async () => {
    const busy = t.dataSource.createQueryRunner();
    try {
      await busy.startTransaction();
      // Statements 1 s apart for 4 s: never idle for the 2 s limit.
      for (let i = 0; i < 4; i += 1) await busy.query('SELECT SLEEP(1)');
      await busy.commitTransaction();
    } finally {
      await busy.release();
    }
  });
});
