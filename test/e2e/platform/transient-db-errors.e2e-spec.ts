import { DataSource } from 'typeorm';
import { parseDatabaseUrl } from '../../../src/config/database.config.js';
import { buildDataSourceOptions } from '../../../src/platform/database/database-options.js';
import { isTransient } from '../../../src/platform/messaging/transient-error.js';
import { eventually } from '../../support/eventually.js';

/**
 * The failover faults as the real MariaDB and driver raise them (through TypeORM, as the handlers see
 * them), not as the unit test imagines them. None of these harms the shared server: a statement
 * timeout, a read-only transaction and a killed connection are all scoped to this suite's sessions.
 */
describe('transient database faults (real MariaDB)', () => {
  let db: DataSource;
  const table = `transient_probe_${process.pid}`;

  beforeAll(async () => {
    const url = process.env.DATABASE_URL ?? 'mariadb://root@127.0.0.1:3306/order_flow_test';
    db = await new DataSource({ ...buildDataSourceOptions({ ...parseDatabaseUrl(url), poolSize: 3 }), migrations: [] }).initialize();
    await db.query(`CREATE TABLE IF NOT EXISTS ${table} (id INT PRIMARY KEY) ENGINE=InnoDB`);
  });
  afterAll(async () => {
    await db?.query(`DROP TABLE IF EXISTS ${table}`);
    await db?.destroy();
  });

  const failure = async (work: () => Promise<unknown>): Promise<Error & { errno?: number }> => {
    try {
      await work();
    } catch (err) {
      return err as Error & { errno?: number };
    }
    throw new Error('expected a failure');
  };

  it('a statement past max_statement_time (1969, which mysql2 does not name) is transient', async () => {
    const err = await failure(() => db.query(`SET STATEMENT max_statement_time = 0.01 FOR SELECT SUM(a.seq) FROM seq_1_to_100000 a JOIN seq_1_to_100000 b`));
    expect(err.errno).toBe(1969);
    expect(isTransient(err)).toBe(true);
  });

  it('a write in a read-only transaction (1792), as on a node that turned read-only, is transient', async () => {
    const runner = db.createQueryRunner();
    try {
      await runner.query('START TRANSACTION READ ONLY');
      const err = await failure(() => runner.query(`INSERT INTO ${table} (id) VALUES (1)`));
      expect(err.errno).toBe(1792);
      expect(isTransient(err)).toBe(true);
    } finally {
      await runner.query('ROLLBACK').catch(() => undefined);
      await runner.release();
    }
  });

  it('a connection killed under a running statement is transient', async () => {
    const runner = db.createQueryRunner();
    try {
      const [{ id }] = await runner.query('SELECT CONNECTION_ID() AS id');
      const running = failure(() => runner.query('SELECT SLEEP(5)'));
      // Once the statement runs, kill its connection from another one.
      await eventually(
        async () => Number((await db.query(`SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID = ? AND INFO LIKE 'SELECT SLEEP%'`, [id]))[0].n),
        (n) => n > 0,
        { what: 'the statement to run' },
      );
      await db.query(`KILL CONNECTION ${Number(id)}`);
      const err = await running;
      expect(isTransient(err)).toBe(true);
    } finally {
      await runner.release();
    }
  });

  it('a duplicate key stays a fault of the message', async () => {
    await db.query(`INSERT IGNORE INTO ${table} (id) VALUES (7)`);
    const err = await failure(() => db.query(`INSERT INTO ${table} (id) VALUES (7)`));
    expect(isTransient(err)).toBe(false);
  });
});
