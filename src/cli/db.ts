/**
 * Database set-up without the application: `node dist/cli/db.js setup|migrate|revert|seed`.
 * `setup` creates the database if missing, runs pending migrations and seeds the demo catalogue;
 * `reset` (tests) drops the database first.
 */
import 'reflect-metadata';
import { DataSource } from 'typeorm';

const { databaseConfig } = await import('../config/database.config.js');
const { appConfig } = await import('../config/app.config.js');
const { buildDataSourceOptions } = await import('../platform/database/database-options.js');
const { ensureDatabase } = await import('../platform/database/ensure-database.js');
const { seedDemoCatalogue } = await import('../system/inventory/demo-catalogue.js');

const command = process.argv[2] ?? 'setup';
const db = databaseConfig();

if (command === 'reset') {
  // Tests only: a fresh database each run, so no state leaks between runs.
  const mysql = (await import('mysql2/promise')).default;
  const conn = await mysql.createConnection({ host: db.host, port: db.port, user: db.username, password: db.password });
  await conn.query(`DROP DATABASE IF EXISTS \`${db.database}\``);
  await conn.end();
}

if (command === 'setup' || command === 'migrate' || command === 'reset') await ensureDatabase(db);
const dataSource = new DataSource({ ...buildDataSourceOptions({ ...db, poolSize: 2 }), logging: ['error'] });
await dataSource.initialize();
try {
  switch (command) {
    case 'setup':
    case 'reset':
    case 'migrate': {
      const ran = await dataSource.runMigrations({ transaction: 'each' });
      console.log(`database ${db.database}: ${ran.length ? `applied ${ran.map((m) => m.name).join(', ')}` : 'schema up to date'}`);
      if (command !== 'migrate') {
        const added = await seedDemoCatalogue(dataSource, appConfig().defaultCurrency);
        console.log(`demo catalogue: ${added} product(s) added`);
      }
      break;
    }
    case 'revert':
      await dataSource.undoLastMigration({ transaction: 'each' });
      console.log('reverted the last migration');
      break;
    case 'seed': {
      const added = await seedDemoCatalogue(dataSource, appConfig().defaultCurrency);
      console.log(`demo catalogue: ${added} product(s) added`);
      break;
    }
    default:
      console.error(`unknown command ${command}: use setup, reset, migrate, revert or seed`);
      process.exitCode = 2;
  }
} finally {
  await dataSource.destroy();
}
