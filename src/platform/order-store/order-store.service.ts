import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { keyTable, SqlBatch } from '../database/sql-batch.js';
import type { Address, OrderLine } from '../../contracts/messages.js';
import type { FailureReason, OrderStatus, ShipmentStatus } from '../../contracts/order-status.js';
import { CustomerEntity } from './customer.entity.js';
import { OrderItemEntity } from './order-item.entity.js';
import { OrderStatusHistoryEntity } from './order-status-history.entity.js';
import { OrderEntity } from './order.entity.js';

export interface NewOrder {
  id: string;
  customer: { externalId?: string; name: string; email: string; phone?: string };
  shippingAddress: Address;
  items: OrderLine[];
  currency: string;
  correlationId: string;
  at: Date;
}

export interface OrderView {
  order: OrderEntity;
  customer: CustomerEntity;
  items: OrderItemEntity[];
  history: OrderStatusHistoryEntity[];
}

export interface StatusView {
  orderId: string;
  status: OrderStatus;
  reason: string | null;
  updatedAt: Date;
}

/** Extra columns a transition may set along with the status. */
export interface OrderPatch {
  total?: number;
  currency?: string;
  paymentId?: string;
  shipmentId?: string;
  carrier?: string;
  trackingNumber?: string;
  estimatedDelivery?: Date;
  shipmentStatus?: ShipmentStatus;
}

/**
 * One order's net change within a batch of saga messages: its status move (from the first `from` to the
 * last `to`, through `count` transitions), if any, and the columns its messages set, merged in order.
 */
export interface OrderChange {
  orderId: string;
  move?: { from: OrderStatus; to: OrderStatus; reason: FailureReason | null; count: number };
  patch: OrderPatch;
}

/** `later` applied after `earlier`, as two UPDATEs would: a final shipment status is never overwritten. */
export function mergePatches(earlier: OrderPatch, later: OrderPatch): OrderPatch {
  const merged: OrderPatch = { ...earlier };
  for (const key of patchKeys(later)) {
    if (key === 'shipmentStatus' && earlier.shipmentStatus && FINAL_SHIPMENT_STATUSES.includes(earlier.shipmentStatus)) continue;
    Object.assign(merged, { [key]: later[key] });
  }
  return merged;
}

const FINAL_SHIPMENT_STATUSES: readonly ShipmentStatus[] = ['DELIVERED', 'FAILED', 'CANCELLED'];

const PATCH_COLUMNS: Record<keyof OrderPatch, string> = {
  total: 'total',
  currency: 'currency',
  paymentId: 'payment_id',
  shipmentId: 'shipment_id',
  carrier: 'carrier',
  trackingNumber: 'tracking_number',
  estimatedDelivery: 'estimated_delivery',
  shipmentStatus: 'shipment_status',
};

/** The patch's defined fields, in a fixed order (so equal shapes compare equal). */
function patchKeys(patch: OrderPatch): Array<keyof OrderPatch> {
  return (Object.keys(PATCH_COLUMNS) as Array<keyof OrderPatch>).filter((key) => patch[key] !== undefined);
}

/** `col = value` for one patched column; `value` is the SQL of its value (a placeholder or a CASE). */
function patchSet(key: keyof OrderPatch, value: string): string {
  // A shipment's final status is never overwritten by a late, earlier one (replies cross topics).
  return key === 'shipmentStatus'
    ? `shipment_status = IF(shipment_status IN (${FINAL_SHIPMENT_STATUSES.map((status) => `'${status}'`).join(', ')}), shipment_status, ${value})`
    : `${PATCH_COLUMNS[key]} = ${value}`;
}

/**
 * The order records (orders, items, history, customers): written by the experience layer at intake
 * and by the saga at each transition, read by the API. Status is always read from here, whatever
 * Kafka is doing (docs/architecture.md §7.5).
 */
/** order_id, from_status, to_status, reason, occurred_at */
export type HistoryRow = [string, OrderStatus, OrderStatus, FailureReason | null, Date];

@Injectable()
export class OrderStoreService {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Writes a new order as RECEIVED in two round trips through `run` (the caller's transaction; `last`
   * is true for the final one): the customer upsert (keyed by the client's customer id, else the
   * email) and the read of its id, then the order with its items and first history row. `extra` puts
   * the caller's own statements into the same round trips: `first` ahead of the customer, `second`
   * after the order, given the customer's id. Returns the customer's id.
   */
  async writeReceived(
    run: (batch: SqlBatch, last: boolean) => Promise<unknown[]>,
    o: NewOrder,
    extra: { first?: (batch: SqlBatch) => void; second?: (batch: SqlBatch, customerId: string) => void } = {},
  ): Promise<string> {
    const first = new SqlBatch();
    extra.first?.(first);
    const c = o.customer;
    const customerKey = c.externalId ? `id:${c.externalId}` : `email:${c.email.toLowerCase()}`;
    first.add(
      `INSERT INTO customers (id, customer_key, external_id, name, email, phone, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE name = VALUES(name), email = VALUES(email), phone = VALUES(phone), updated_at = VALUES(updated_at)`,
      [randomUUID(), customerKey, c.externalId ?? null, c.name, c.email, c.phone ?? null, o.at, o.at],
    );
    const customerRead = first.add('SELECT id FROM customers WHERE customer_key = ?', [customerKey]);
    const customerId = ((await run(first, false))[customerRead] as Array<{ id: string }>)[0].id;

    const second = new SqlBatch();
    const a = o.shippingAddress;
    second.add(
      `INSERT INTO orders (id, customer_id, status, version, currency, ship_line1, ship_line2, ship_city, ship_postal_code, ship_country, correlation_id, created_at, updated_at)
       VALUES (?, ?, 'RECEIVED', 1, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [o.id, customerId, o.currency, a.line1, a.line2 ?? null, a.city, a.postalCode, a.country, o.correlationId, o.at, o.at],
    );
    second.addRows(
      'INSERT INTO order_items (order_id, line_no, product_id, quantity)',
      o.items.map((item, i) => [o.id, i + 1, item.productId, item.quantity]),
    );
    second.add(`INSERT INTO order_status_history (order_id, from_status, to_status, occurred_at) VALUES (?, NULL, 'RECEIVED', ?)`, [o.id, o.at]);
    extra.second?.(second, customerId);
    await run(second, true);
    return customerId;
  }

  /**
   * Adds the order changes of a batch of saga messages, each order's net change (see OrderChange).
   * A status change applies only where the order is still in `from` (docs/architecture.md §4: a late or duplicate
   * message changes nothing). Orders with the same kind of change (the same move and patched columns)
   * share one UPDATE, their values chosen by id: one statement per kind instead of one per order.
   * Returns, for each UPDATE that moves a status, its result index and the orders it must move; the
   * caller checks it moved exactly that many rows and otherwise rolls back.
   */
  stageOrderChanges(batch: SqlBatch, changes: Iterable<OrderChange>, at: Date): Array<{ index: number; orderIds: string[] }> {
    const kinds = new Map<string, OrderChange[]>();
    for (const change of changes) {
      const move = change.move ? [change.move.from, change.move.to, change.move.reason ?? '', change.move.count] : ['patch'];
      const kind = [...move, ...patchKeys(change.patch)].join('|');
      const same = kinds.get(kind);
      if (same) same.push(change);
      else kinds.set(kind, [change]);
    }
    const guards: Array<{ index: number; orderIds: string[] }> = [];
    for (const group of kinds.values()) {
      const { move, patch } = group[0];
      const sets = ['updated_at = ?'];
      const params: unknown[] = [at];
      if (move) {
        sets.push('status = ?', 'status_reason = ?', 'version = version + ?');
        params.push(move.to, move.reason ?? null, move.count);
      }
      for (const key of patchKeys(patch)) {
        // One order: its value; several: each order's own, picked by id.
        const value = group.length === 1 ? '?' : `CASE o.id ${group.map(() => 'WHEN ? THEN ?').join(' ')} END`;
        params.push(...(group.length === 1 ? [patch[key]] : group.flatMap((c) => [c.orderId, c.patch[key]])));
        sets.push(patchSet(key, value));
      }
      const orderIds = group.map((c) => c.orderId);
      const index = batch.add(`UPDATE ${keyTable('k')} STRAIGHT_JOIN orders o ON o.id = k.id SET ${sets.join(', ')}${move ? ' WHERE o.status = ?' : ''}`, [
        JSON.stringify(orderIds),
        ...params,
        ...(move ? [move.from] : []),
      ]);
      if (move) guards.push({ index, orderIds });
    }
    return guards;
  }

  /** Adds one INSERT of history rows (each from stageTransition's collector) to `batch`. */
  stageHistory(batch: SqlBatch, rows: HistoryRow[]): void {
    if (!rows.length) return;
    batch.addRows('INSERT INTO order_status_history (order_id, from_status, to_status, reason, occurred_at)', rows);
  }

  /**
   * Adds the unit prices reservations brought (order line id, price) to `batch`, in one UPDATE.
   * The lines are found by their primary key, which locks those rows only. Through the unique
   * (order_id, line_no) index, even with the whole key, InnoDB takes next-key locks, which also lock
   * the gap before each line: a new order whose random id sorted into one of those gaps waited for
   * this transaction to insert its own lines.
   */
  stageUnitPrices(batch: SqlBatch, prices: ReadonlyArray<readonly [itemId: string, unitPrice: number]>): void {
    if (!prices.length) return;
    const byItem = new Map(prices);
    batch.add(
      `UPDATE JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT PATH '$[0]', unit_price DECIMAL(12,2) PATH '$[1]')) AS k
       STRAIGHT_JOIN order_items i ON i.id = k.id
       SET i.unit_price = k.unit_price`,
      [JSON.stringify([...byItem])], // ids as text: BIGINTs need not fit a JS number
    );
  }

  async findOrder(orderId: string): Promise<OrderView | null> {
    const order = await this.dataSource.getRepository(OrderEntity).findOneBy({ id: orderId });
    if (!order) return null;
    const [customer, items, history] = await Promise.all([
      this.dataSource.getRepository(CustomerEntity).findOneByOrFail({ id: order.customerId }),
      this.dataSource.getRepository(OrderItemEntity).find({ where: { orderId }, order: { lineNo: 'ASC' } }),
      this.dataSource.getRepository(OrderStatusHistoryEntity).find({ where: { orderId }, order: { id: 'ASC' } }),
    ]);
    return { order, customer, items, history };
  }

  /** The light status query: one primary-key read. */
  async findStatus(orderId: string): Promise<StatusView | null> {
    const rows = await this.dataSource.query('SELECT id, status, status_reason, updated_at FROM orders WHERE id = ?', [orderId]);
    if (!rows.length) return null;
    const r = rows[0];
    return { orderId: r.id, status: r.status, reason: r.status_reason, updatedAt: new Date(r.updated_at) };
  }
}
