import mysql from 'mysql2/promise';
import type { ParsedDatabaseUrl } from '../../config/database.config.js';

/** Creates the configured database if it does not exist yet (migrations then fill it). */
export async function ensureDatabase(db: ParsedDatabaseUrl): Promise<void> {
  const conn = await mysql.createConnection({ host: db.host, port: db.port, user: db.username, password: db.password });
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS \`${db.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await conn.end();
  }
}
