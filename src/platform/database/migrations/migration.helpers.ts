import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The options every table is created with: InnoDB, and a charset and collation that MySQL 8 and MariaDB 10.11 read alike. */
export const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';

/**
 * The base class of a migration that runs fixed statements, in order: `up` on the way up, `down` on
 * the way down. Extend it under the migration's own class name (TypeORM records `name`).
 */
export function sqlMigration(name: string, up: readonly string[], down: readonly string[]): new () => MigrationInterface {
  return class implements MigrationInterface {
    name = name;

    async up(q: QueryRunner): Promise<void> {
      for (const statement of up) await q.query(statement);
    }

    async down(q: QueryRunner): Promise<void> {
      for (const statement of down) await q.query(statement);
    }
  };
}
