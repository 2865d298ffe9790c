import { placeholders, type SqlBatch } from '../../platform/database/sql-batch.js';

export type SystemModule = 'inventory' | 'payment' | 'shipping';

/**
 * Each system module's memory of the orders it compensated (released, refunded, cancelled), kept
 * even when there was nothing to undo. A forward command for such an order is refused, whatever
 * brought it (redelivery, DLQ replay, offset reset): the saga has given up on the order, and an effect
 * now would never be undone.
 */
export const compensatedOrders = {
  /** Adds the read of which of `orderIds` this module compensated; returns its index in the batch results. */
  select(batch: SqlBatch, module: SystemModule, orderIds: readonly string[]): number {
    return batch.add(`SELECT order_id FROM compensated_orders WHERE system_module = ? AND order_id IN (${placeholders(orderIds)})`, [module, ...orderIds]);
  },

  /** The order ids of a result of `select`. */
  ids(result: unknown): Set<string> {
    return new Set((result as Array<{ order_id: string }>).map((r) => r.order_id));
  },

  /** Stages the record that this module compensated these orders (idempotent). */
  record(batch: SqlBatch, module: SystemModule, orderIds: readonly string[], now: Date): void {
    if (!orderIds.length) return;
    batch.addRows(
      'INSERT IGNORE INTO compensated_orders (system_module, order_id, compensated_at)',
      orderIds.map((id) => [module, id, now]),
    );
  },
};
