import type { EntityManager } from 'typeorm';
import { placeholders, SqlBatch } from '../../platform/database/sql-batch.js';
import { compensatedOrders, type SystemModule } from './compensated-orders.js';

/** Which orders a batch asks about: forward commands read their rows plainly, compensations lock them. */
export interface OrderIds {
  forward: readonly string[];
  compensating: readonly string[];
}

/** Each order's row and the orders this module compensated before. */
export interface ByOrder<R> {
  rows: Map<string, R>;
  compensated: Set<string>;
}

/**
 * The read round trip of a module that keeps one row per order (`order_id` unique): which of the
 * orders it compensated before, their rows without locks for forward commands, and locked for
 * compensations. The locked read comes last, so for an order in both lists it is the one kept.
 * `select` is the module's `SELECT … FROM table` (no WHERE); `map` turns a row into the module's type.
 */
export async function readByOrder<Row extends { order_id: string }, T>(
  tx: EntityManager,
  module: SystemModule,
  select: string,
  ids: OrderIds,
  map: (row: Row) => T,
): Promise<ByOrder<T>> {
  const read = new SqlBatch();
  const compensatedAt = compensatedOrders.select(read, module, [...new Set([...ids.forward, ...ids.compensating])]);
  if (ids.forward.length) read.add(`${select} WHERE order_id IN (${placeholders(ids.forward)})`, [...ids.forward]);
  if (ids.compensating.length) read.add(`${select} WHERE order_id IN (${placeholders(ids.compensating)}) FOR UPDATE`, [...ids.compensating]);
  const results = await read.run(tx);
  const rows = results.filter((_, i) => i !== compensatedAt) as Row[][];
  return { rows: new Map(rows.flat().map((row) => [row.order_id, map(row)])), compensated: compensatedOrders.ids(results[compensatedAt]) };
}

/** The distinct order ids of the messages of one type, in the order they first appear. */
export function orderIdsOf<M extends { eventType: string; orderId: string }>(messages: readonly M[], type: M['eventType']): string[] {
  return [...new Set(messages.filter((m) => m.eventType === type).map((m) => m.orderId))];
}
