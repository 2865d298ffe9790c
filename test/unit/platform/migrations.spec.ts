import { createHash } from 'node:crypto';
import type { QueryRunner } from 'typeorm';
import { MIGRATIONS } from '../../../src/platform/database/migrations/index.js';

/**
 * Migrations that have run in production are history: the SQL each one runs, up and down, must never
 * change. A digest of every statement, in order, per migration; a new migration adds its line.
 */
const EXECUTED_SQL: Record<string, { statements: number; sha256: string }> = {
  InitialSchema1763776800000: { statements: 27, sha256: '7fa972d728cfc2e7c18389c0cf3f19df9ebb400669efb8eba4195801d522dae6' },
  OutboxAvailableAt1763780400000: { statements: 4, sha256: '3dc58b16e9f62d8914d0f068a1b37ef3ec95be87ab11048d436f63b71dc2b329' },
  ShipmentsCorrelationId1763791200000: { statements: 2, sha256: 'cb09dd221058aa3504d4e7b29e10099a5ab7c8f567229e91861b6d0bfddd203c' },
  SagaStepCommand1763794800000: { statements: 2, sha256: 'd0f28370cff888b8305c96c4a5a13075053c520b483d5f445ae474f0b664e39b' },
  OutboxParked1764590400000: { statements: 2, sha256: 'b034a4e73633d5c2d14884bcb292ce620f5e86dddf43a6525b43b68c446024a6' },
  SagaFaultPaths1765000000000: { statements: 6, sha256: 'b5d530894c74e5a3b965ab4492a1faf942f78e48a1fdaf384c9e088c67cc3045' },
  OutboxShardLeases1765000100000: { statements: 2, sha256: 'a2ae368818aff1aa10099b0faf8606091a0da1d63e6f78d60ad61b43798a2597' },
  OutboxTraceContext1765100000000: { statements: 2, sha256: '7e1efef49bb7fb5deda37f8e8bfbcc63b75983714222d7d2e4f6c7492fe73117' },
  OrderOwnership1765200000000: { statements: 4, sha256: '768b783f541e357a3fded04a407c9d1fa421b4c3f19e351d2d416a0031baafa8' },
  OrderListing1765300000000: { statements: 4, sha256: 'd4f1330e0f20fe2228907c38d047d653fb427374ea1526f91137e4adf20ed5f9' },
  OrderCancelRequest1765310000000: { statements: 2, sha256: '54962942aac248a9c7d4a55bde3cde2c047e6834c3a3888c0debafb0eca1fb3c' },
  OrderEvents1765320000000: { statements: 3, sha256: '4d6191b60b05acc11263c9890a23894ea1d97c484b4a90855db2a810220804fc' },
  StatusEventsInHistory1765400000000: { statements: 2, sha256: '3b16e10c5fdb7e4a62841d8e9098f3a6e5a91163f87ec8073281e93bd19dbdf9' },
};

/** The statements a migration runs up, then down, as a query runner would receive them. */
async function executedSql(migration: { up(q: QueryRunner): Promise<unknown>; down(q: QueryRunner): Promise<unknown> }): Promise<string[]> {
  const statements: string[] = [];
  const runner = {
    query: async (sql: string, parameters?: unknown[]) => {
      if (parameters !== undefined) throw new Error(`a migration statement with parameters: ${sql}`);
      statements.push(sql);
    },
  } as unknown as QueryRunner;
  await migration.up(runner);
  await migration.down(runner);
  return statements;
}

describe('migrations', () => {
  it('are listed in timestamp order, each under its class name', () => {
    const names = MIGRATIONS.map((M) => new M().name ?? '');
    expect(names).toEqual(MIGRATIONS.map((M) => M.name));
    expect(names).toEqual([...names].sort((a, b) => Number(a.match(/\d+$/)![0]) - Number(b.match(/\d+$/)![0])));
  });

  it.each(MIGRATIONS.map((M) => [M.name, M] as const))('%s runs the same SQL as when it was released', async (name, M) => {
    const statements = await executedSql(new M());
    expect({ statements: statements.length, sha256: createHash('sha256').update(JSON.stringify(statements)).digest('hex') }).toEqual(EXECUTED_SQL[name]);
  });
});
