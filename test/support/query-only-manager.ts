import type { EntityManager } from 'typeorm';

/** A manager that allows nothing but query(), answered from `answer`, and records every call. */
export function queryOnlyManager(answer: (sql: string, params: unknown[]) => unknown) {
  const calls: Array<{ sql: string; params: unknown[] }> = [];
  const tx = new Proxy(
    {
      query: async (sql: string, params: unknown[] = []) => {
        calls.push({ sql, params });
        return answer(sql, params);
      },
    },
    {
      get(target, prop) {
        if (prop in target) return Reflect.get(target, prop);
        if (typeof prop === 'symbol' || prop === 'then') return undefined;
        throw new Error(`unexpected use of EntityManager.${String(prop)}`);
      },
    },
  ) as unknown as EntityManager;
  return { tx, calls };
}
