import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { parseDatabaseUrl } from '../../../src/config/database.config.js';
import { IdempotencyKeyPrunerService, PRUNE_CHUNK } from '../../../src/experience/orders/idempotency-key-pruner.service.js';
import { IdempotencyKeyRepository } from '../../../src/order-store/idempotency-key.repository.js';
import { buildDataSourceOptions } from '../../../src/platform/database/database-options.js';
import { eventually } from '../../support/eventually.js';

/** The Idempotency-Key pruner against the real, migrated MariaDB schema. */
describe('IdempotencyKeyPrunerService (real MariaDB)', () => {
  let db: DataSource;
  const client = `prune-test-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    const url = process.env.DATABASE_URL ?? 'mariadb://root@127.0.0.1:3306/order_flow_test';
    db = await new DataSource(buildDataSourceOptions({ ...parseDatabaseUrl(url), poolSize: 2 })).initialize();
    await db.runMigrations();
  });
  afterAll(async () => {
    await db?.query('DELETE FROM idempotency_keys WHERE client_id = ?', [client]);
    await db?.destroy();
  });

  /** `n` keys of `client`, each `hoursAgo` old; returns their names. */
  async function insertKeys(prefix: string, hoursAgo: number, n: number): Promise<string[]> {
    const keys = Array.from({ length: n }, (_, i) => `${prefix}-${hoursAgo}-${i}`);
    for (let i = 0; i < keys.length; i += 500) {
      const rows = keys.slice(i, i + 500).map((key) => [client, key, 'h'.repeat(64), randomUUID(), hoursAgo]);
      await db.query(
        `INSERT INTO idempotency_keys (client_id, idem_key, request_hash, order_id, created_at) VALUES ${rows.map(() => '(?, ?, ?, ?, NOW(3) - INTERVAL ? HOUR)').join(', ')}`,
        rows.flat(),
      );
    }
    return keys;
  }
  const keysLeft = async (prefix: string): Promise<string[]> =>
    (await db.query('SELECT idem_key FROM idempotency_keys WHERE client_id = ? AND idem_key LIKE ?', [client, `${prefix}-%`])).map((r: { idem_key: string }) => r.idem_key).sort();

  it('deletes the keys older than the TTL, in chunks, and keeps the fresh ones', async () => {
    const expired = [...(await insertKeys('chunks', 200, PRUNE_CHUNK * 2 + 5)), ...(await insertKeys('chunks', 25, 3))];
    const fresh = [...(await insertKeys('chunks', 23, 4)), ...(await insertKeys('chunks', 0, 4))];
    const pruner = new IdempotencyKeyPrunerService(new IdempotencyKeyRepository(db), { idempotencyKeyTtlHours: 24, idempotencyPruneIntervalMs: 600000 });

    expect(await pruner.prune()).toBeGreaterThanOrEqual(expired.length);
    expect(await keysLeft('chunks')).toEqual([...fresh].sort());
    expect(await pruner.prune()).toBe(0); // nothing more to do
  });

  it('prunes on its own every IDEMPOTENCY_PRUNE_INTERVAL_MS once the application has started', async () => {
    await insertKeys('timer', 48, 3);
    const fresh = await insertKeys('timer', 1, 2);
    const pruner = new IdempotencyKeyPrunerService(new IdempotencyKeyRepository(db), { idempotencyKeyTtlHours: 24, idempotencyPruneIntervalMs: 1000 });
    pruner.onApplicationBootstrap();
    try {
      await eventually(
        () => keysLeft('timer'),
        (left) => left.length === fresh.length,
        { what: 'the expired keys pruned by the timer' },
      );
      expect(await keysLeft('timer')).toEqual([...fresh].sort());
    } finally {
      await pruner.onApplicationShutdown();
    }
  });
});
