import { randomUUID } from 'node:crypto';
import type { ConfigType } from '@nestjs/config';
import { DataSource } from 'typeorm';
import { parseDatabaseUrl } from '../../../src/config/database.config.js';
import type { kafkaConfig } from '../../../src/config/kafka.config.js';
import { buildDataSourceOptions } from '../../../src/platform/database/database-options.js';
import { InboxPrunerService } from '../../../src/platform/messaging/inbox-pruner.service.js';

/** The inbox pruner against the real, migrated MariaDB schema. */
describe('InboxPrunerService (real MariaDB)', () => {
  let db: DataSource;
  const group = `prune-test-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    const url = process.env.DATABASE_URL ?? 'mariadb://root@127.0.0.1:3306/order_flow_test';
    db = await new DataSource(buildDataSourceOptions({ ...parseDatabaseUrl(url), poolSize: 2 })).initialize();
    await db.runMigrations();
  });
  afterAll(async () => {
    await db?.query('DELETE FROM processed_messages WHERE consumer_group = ?', [group]);
    await db?.query('DELETE FROM dead_lettered_messages WHERE consumer_group = ?', [group]);
    await db?.destroy();
  });

  it('deletes the inbox rows older than the retention and keeps the rest', async () => {
    const rows = (hoursAgo: number, n: number) => Array.from({ length: n }, () => [group, randomUUID(), hoursAgo]);
    const all = [...rows(200, 3), ...rows(169, 2), ...rows(167, 2), ...rows(0, 2)];
    await db.query(`INSERT INTO processed_messages (consumer_group, event_id, processed_at) VALUES ${all.map(() => '(?, ?, NOW(3) - INTERVAL ? HOUR)').join(', ')}`, all.flat());
    const pruner = new InboxPrunerService(db, { inboxRetentionHours: 168, inboxPruneIntervalMs: 60000 } as ConfigType<typeof kafkaConfig>);

    expect(await pruner.prune()).toBeGreaterThanOrEqual(5);
    const left = await db.query('SELECT event_id FROM processed_messages WHERE consumer_group = ? ORDER BY event_id', [group]);
    expect(left.map((r: { event_id: string }) => r.event_id).sort()).toEqual(
      all
        .slice(5)
        .map((r) => r[1] as string)
        .sort(),
    );
    expect(await pruner.prune()).toBe(0); // nothing more to do
  });

  it('ages the record of dead-lettered messages like the inbox', async () => {
    const [old, fresh] = [randomUUID(), randomUUID()];
    await db.query('INSERT INTO dead_lettered_messages (consumer_group, event_id, dead_lettered_at) VALUES (?, ?, NOW(3) - INTERVAL 200 HOUR), (?, ?, NOW(3))', [group, old, group, fresh]);
    const pruner = new InboxPrunerService(db, { inboxRetentionHours: 168, inboxPruneIntervalMs: 60000 } as ConfigType<typeof kafkaConfig>);
    expect(await pruner.prune()).toBeGreaterThanOrEqual(1);
    expect(await db.query('SELECT event_id FROM dead_lettered_messages WHERE consumer_group = ?', [group])).toEqual([{ event_id: fresh }]);
  });
});
