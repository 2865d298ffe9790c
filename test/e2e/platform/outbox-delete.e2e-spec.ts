import { randomUUID } from 'node:crypto';
import { DataSource, type QueryRunner } from 'typeorm';
import { parseDatabaseUrl } from '../../../src/config/database.config.js';
import { buildDataSourceOptions } from '../../../src/platform/database/database-options.js';
import { DELETE_SENT } from '../../../src/platform/messaging/outbox-relay.service.js';

/**
 * The relay's delete of the rows it published, against the real MariaDB, on a table shaped like the
 * outbox and as small as the outbox is when the relay keeps up. It must touch only those rows: a
 * locking scan would wait on the uncommitted inserts of other transactions and gap-lock the table,
 * and every transaction that stages a message (an order's POST included) would queue behind it.
 */
describe('outbox relay delete (real MariaDB)', () => {
  let db: DataSource;
  const table = `outbox_del_${randomUUID().slice(0, 8)}`;
  const deleteSent = DELETE_SENT.replace(/\boutbox o\b/, `${table} o`);
  const runners: QueryRunner[] = [];

  const insertRows = (q: Pick<DataSource, 'query'>, n: number) =>
    q.query(
      `INSERT INTO ${table} (shard, topic, message_key, event_id, event_type, headers, payload) VALUES ${Array.from({ length: n }, () => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
      Array.from({ length: n }, (_, i) => [i % 16, 'order-status', randomUUID(), randomUUID(), 'OrderStatusChanged', '{}', JSON.stringify({ padding: 'x'.repeat(600) })]).flat(),
    );

  beforeAll(async () => {
    const url = process.env.DATABASE_URL ?? 'mariadb://root@127.0.0.1:3306/order_flow_test';
    db = await new DataSource({ ...buildDataSourceOptions({ ...parseDatabaseUrl(url), poolSize: 3 }), migrations: [] }).initialize();
    await db.query(`CREATE TABLE ${table} LIKE outbox`);
    await insertRows(db, 600);
    await db.query(`ANALYZE TABLE ${table}`);
  });
  afterAll(async () => {
    for (const r of runners) await r.release().catch(() => undefined);
    await db?.query(`DROP TABLE IF EXISTS ${table}`);
    await db?.destroy();
  });

  const session = async () => {
    const runner = db.createQueryRunner();
    runners.push(runner);
    // Fail fast instead of the default 50 s if a statement waits on a lock.
    await runner.query('SET SESSION innodb_lock_wait_timeout = 2');
    return runner;
  };

  it('looks each published row up by primary key, however many there are', async () => {
    const ids: string[] = (await db.query(`SELECT id FROM ${table} ORDER BY id LIMIT 500`)).map((r: { id: string }) => r.id);
    const plan: Array<{ table: string; type: string; key: string | null }> = await db.query(`EXPLAIN ${deleteSent}`, [JSON.stringify(ids)]);
    expect(plan.find((step) => step.table === 'o')).toMatchObject({ type: 'eq_ref', key: 'PRIMARY' });
  });

  it('deletes exactly the published rows without waiting on, or blocking, transactions that stage new ones', async () => {
    const staging = await session();
    const relay = await session();
    const ids: string[] = (await db.query(`SELECT id FROM ${table} ORDER BY id LIMIT 500`)).map((r: { id: string }) => r.id);
    const before = Number((await db.query(`SELECT COUNT(*) AS n FROM ${table}`))[0].n);

    // Another transaction has staged a message and not committed yet.
    await staging.query('START TRANSACTION');
    await insertRows(staging, 1);

    await relay.query('START TRANSACTION');
    const deleted = await relay.query(deleteSent, [JSON.stringify(ids)]);
    expect(deleted.affectedRows).toBe(500);

    // While the relay's transaction is open, staging goes on.
    await insertRows(staging, 1);
    await staging.query('COMMIT');
    await relay.query('COMMIT');

    const remaining: Array<{ id: string }> = await db.query(`SELECT id FROM ${table}`);
    expect(remaining).toHaveLength(before - 500 + 2);
    const gone = new Set(ids);
    expect(remaining.filter((r) => gone.has(r.id))).toEqual([]);
  });
});
