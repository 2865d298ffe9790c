import type { DataSourceOptions } from 'typeorm';
import type { ParsedDatabaseUrl } from '../../config/database.config.js';
import { MIGRATIONS } from './migrations/index.js';

/** One place that turns config into TypeORM options, shared by the app and the migration CLI. */
export function buildDataSourceOptions(db: ParsedDatabaseUrl & { poolSize: number }): DataSourceOptions {
  return {
    type: db.type,
    host: db.host,
    port: db.port,
    username: db.username,
    password: db.password,
    database: db.database,
    entities: [],
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    migrationsTransactionMode: 'each',
    // Schema changes only through migrations.
    synchronize: false,
    timezone: 'Z',
    charset: 'utf8mb4_unicode_ci',
    poolSize: db.poolSize,
    // Fail fast when the database is unreachable so requests answer 503 instead of hanging.
    connectTimeout: 5000,
    // multipleStatements: see SqlBatch (values are always bound through placeholders).
    // trace: false spares a captured stack trace per query (a visible share of the CPU under load).
    extra: { connectionLimit: db.poolSize, maxIdle: db.poolSize, enableKeepAlive: true, decimalNumbers: true, multipleStatements: true, trace: false },
  } as DataSourceOptions;
}
