import { randomUUID } from 'node:crypto';
import { DataSource, type QueryRunner } from 'typeorm';
import { parseDatabaseUrl } from '../../../src/config/database.config.js';
import { buildDataSourceOptions } from '../../../src/platform/database/database-options.js';
import { DELETE_SENT, READ_LEASED } from '../../../src/platform/messaging/outbox.repository.js';

/**
 * The relay's delete of the rows it published, against the real MariaDB, on a table shaped like the
 * outbox and as small as the outbox is when the relay keeps up. It must touch only those rows: a
 * locking scan would wait on the uncommitted inserts of other transactions and gap-lock the table,
 * and every transaction that stages a message (an order's POST included) would queue behind it.
 * The read of a pass's rows must stay a scan in id order that stops at its limit.
 */
describe('outbox relay delete (real MariaDB)', () => {
  let db: DataSource;
  const table = `outbox_del_${randomUUID().slice(0, 8)}`;
  const deleteSent = DELETE_SENT.replace(/\boutbox o\b/, `${table} o`);
  // The relay deletes only rows of shards its pass still leases: this one leases shards 0 to 7.
  const lease = `delete-test-${randomUUID().slice(0, 8)}`;
  const runners: QueryRunner[] = [];

  const insertRows = (q: Pick<DataSource, 'query'>, n: number) =>
    q.query(
      `INSERT INTO ${table} (shard, topic, message_key, event_id, event_type, headers, payload, available_at) VALUES ${Array.from({ length: n }, () => '(?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3))').join(', ')}`,
      Array.from({ length: n }, (_, i) => [i % 16, 'order-status', randomUUID(), randomUUID(), 'OrderStatusChanged', '{}', JSON.stringify({ padding: 'x'.repeat(600) })]).flat(),
    );

  beforeAll(async () => {
    const url = process.env.DATABASE_URL ?? 'mariadb://root@127.0.0.1:3306/order_flow_test';
    db = await new DataSource({ ...buildDataSourceOptions({ ...parseDatabaseUrl(url), poolSize: 3 }), migrations: [] }).initialize();
    await db.query(`CREATE TABLE ${table} LIKE outbox`);
    await insertRows(db, 600);
    await db.query(`ANALYZE TABLE ${table}`);
    await db.query('UPDATE outbox_shards SET lease_owner = ?, lease_until = UTC_TIMESTAMP(3) + INTERVAL 10 MINUTE WHERE shard < 8', [lease]);
  });
  afterAll(async () => {
    for (const r of runners) await r.release().catch(() => undefined);
    await db?.query('UPDATE outbox_shards SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?', [lease]);
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
    const plan: Array<{ table: string; type: string; key: string | null }> = await db.query(`EXPLAIN ${deleteSent}`, [JSON.stringify(ids), lease]);
    expect(plan.find((step) => step.table === 'o')).toMatchObject({ type: 'eq_ref', key: 'PRIMARY' });
    expect(plan.find((step) => step.table === 's')).toMatchObject({ type: 'eq_ref', key: 'PRIMARY' });
  });

  it('deletes exactly the published rows without waiting on, or blocking, transactions that stage new ones', async () => {
    const staging = await session();
    const relay = await session();
    const ids: string[] = (await db.query(`SELECT id FROM ${table} WHERE shard < 8 ORDER BY id LIMIT 250`)).map((r: { id: string }) => r.id);
    const before = Number((await db.query(`SELECT COUNT(*) AS n FROM ${table}`))[0].n);

    // Another transaction has staged a message and not committed yet.
    await staging.query('START TRANSACTION');
    await insertRows(staging, 1);

    await relay.query('START TRANSACTION');
    const deleted = await relay.query(deleteSent, [JSON.stringify(ids), lease]);
    expect(deleted.affectedRows).toBe(250);

    // While the relay's transaction is open, staging goes on.
    await insertRows(staging, 1);
    await staging.query('COMMIT');
    await relay.query('COMMIT');

    const remaining: Array<{ id: string }> = await db.query(`SELECT id FROM ${table}`);
    expect(remaining).toHaveLength(before - 250 + 2);
    const gone = new Set(ids);
    expect(remaining.filter((r) => gone.has(r.id))).toEqual([]);
  });

  it("reads a pass's rows in id order from the outbox, checking each row's lease, with no temporary table", async () => {
    const readLeased = READ_LEASED(16).replace(/\boutbox o\b/, `${table} o`);
    const params = [lease, ...Array.from({ length: 16 }, (_, i) => i), 500];
    const plan: Array<{ table: string; type: string; key: string | null; Extra: string | null }> = await db.query(`EXPLAIN ${readLeased}`, params);
    expect(plan[0].table).toBe('o');
    expect(plan.find((step) => step.table === 's')).toMatchObject({ type: 'eq_ref', key: 'PRIMARY' });
    expect(plan.filter((step) => /temporary/i.test(step.Extra ?? ''))).toEqual([]);
    const rows: Array<{ id: string; shard: number }> = await db.query(readLeased, params);
    expect(rows).toHaveLength(Math.min(500, Number((await db.query(`SELECT COUNT(*) AS n FROM ${table} WHERE shard < 8`))[0].n)));
    expect(rows.every((r) => r.shard < 8)).toBe(true);
    expect(rows.map((r) => Number(r.id))).toEqual(rows.map((r) => Number(r.id)).sort((a, b) => a - b));
  });

  it('deletes nothing of a shard the pass no longer leases (another pass publishes those rows again)', async () => {
    const ids: string[] = (await db.query(`SELECT id FROM ${table} WHERE shard >= 8 ORDER BY id LIMIT 100`)).map((r: { id: string }) => r.id);
    const [mine] = (await db.query(`SELECT id FROM ${table} WHERE shard < 8 ORDER BY id LIMIT 1`)).map((r: { id: string }) => r.id);
    const deleted = await db.query(deleteSent, [JSON.stringify([...ids, mine]), lease]);
    expect(deleted.affectedRows).toBe(1);
    expect(Number((await db.query(`SELECT COUNT(*) AS n FROM ${table} WHERE id IN (${ids.map(() => '?').join(',')})`, ids))[0].n)).toBe(100);
  });
});
