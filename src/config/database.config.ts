import { registerAs } from '@nestjs/config';
import { env } from './env.js';

export interface ParsedDatabaseUrl {
  type: 'mysql' | 'mariadb';
  host: string;
  port: number;
  username: string;
  password: string;
  database: string;
}

/** `mariadb://user:pass@host:3306/db` → connection fields; the scheme picks the TypeORM dialect. */
export function parseDatabaseUrl(url: string): ParsedDatabaseUrl {
  const u = new URL(url);
  const scheme = u.protocol.replace(':', '');
  if (scheme !== 'mysql' && scheme !== 'mariadb') {
    throw new Error(`DATABASE_URL scheme must be mysql or mariadb, got ${scheme}`);
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_]+$/.test(database)) {
    throw new Error('DATABASE_URL must name a database made of letters, digits and underscores');
  }
  return {
    type: scheme,
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    username: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password),
    database,
  };
}

export const databaseConfig = registerAs('database', () => {
  const e = env();
  return {
    ...parseDatabaseUrl(e.DATABASE_URL),
    poolSize: e.DATABASE_POOL_SIZE,
    idleTransactionTimeoutS: e.DATABASE_IDLE_TRANSACTION_TIMEOUT_S,
  };
});
export type DatabaseConfig = ReturnType<typeof databaseConfig>;
