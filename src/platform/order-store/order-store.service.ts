import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { SqlBatch } from '../database/sql-batch.js';
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

/** `, col = ?…` for the defined fields of a patch, and their values. */
function patchClause(patch: OrderPatch): { sets: string; params: unknown[] } {
  let sets = '';
  const params: unknown[] = [];
  for (const [key, value] of Object.entries(patch) as Array<[keyof OrderPatch, unknown]>) {
    if (value === undefined) continue;
    // A shipment's final status is never overwritten by a late, earlier one (replies cross topics).
    sets += key === 'shipmentStatus' ? `, shipment_status = IF(shipment_status IN ('DELIVERED', 'FAILED'), shipment_status, ?)` : `, ${PATCH_COLUMNS[key]} = ?`;
    params.push(value);
  }
  return { sets, params };
}

/**
 * The order records (orders, items, history, customers): written by the experience layer at intake
 * and by the saga at each transition, read by the API. Status is always read from here, whatever
 * Kafka is doing (DESIGN §7.5).
 */
/** order_id, from_status, to_status, reason, occurred_at */
export type HistoryRow = [string, OrderStatus, OrderStatus, FailureReason | null, Date];

@Injectable()
export class OrderStoreService {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Adds the customer upsert (keyed by the client's customer id, else the email) and the read of its
   * id to `batch`; returns the index of that read's result.
   */
  stageCustomer(batch: SqlBatch, c: NewOrder['customer'], at: Date): number {
    const customerKey = c.externalId ? `id:${c.externalId}` : `email:${c.email.toLowerCase()}`;
    batch.add(
      `INSERT INTO customers (id, customer_key, external_id, name, email, phone, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE name = VALUES(name), email = VALUES(email), phone = VALUES(phone), updated_at = VALUES(updated_at)`,
      [randomUUID(), customerKey, c.externalId ?? null, c.name, c.email, c.phone ?? null, at, at],
    );
    return batch.add('SELECT id FROM customers WHERE customer_key = ?', [customerKey]);
  }

  /** Adds the order as RECEIVED with its items and first history row to `batch`. */
  stageReceived(batch: SqlBatch, o: NewOrder, customerId: string): void {
    const a = o.shippingAddress;
    batch.add(
      `INSERT INTO orders (id, customer_id, status, version, currency, ship_line1, ship_line2, ship_city, ship_postal_code, ship_country, correlation_id, created_at, updated_at)
       VALUES (?, ?, 'RECEIVED', 1, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [o.id, customerId, o.currency, a.line1, a.line2 ?? null, a.city, a.postalCode, a.country, o.correlationId, o.at, o.at],
    );
    batch.addRows(
      'INSERT INTO order_items (order_id, line_no, product_id, quantity)',
      o.items.map((item, i) => [o.id, i + 1, item.productId, item.quantity]),
    );
    batch.add(`INSERT INTO order_status_history (order_id, from_status, to_status, occurred_at) VALUES (?, NULL, 'RECEIVED', ?)`, [o.id, o.at]);
  }

  /**
   * Adds the move of an order from `from` to `to`, applied only if it is still in `from` (DESIGN §4:
   * a late or duplicate message changes nothing), and its history row, to `batch`. Returns the index
   * of the UPDATE's result: one affected row means it moved.
   */
  stageTransition(
    batch: SqlBatch,
    orderId: string,
    from: OrderStatus,
    to: OrderStatus,
    at: Date,
    reason?: FailureReason,
    patch: OrderPatch = {},
    /** Collects the history row here instead (written by `stageHistory`, many transitions in one INSERT). */
    history?: HistoryRow[],
  ): number {
    const { sets, params } = patchClause(patch);
    const index = batch.add(`UPDATE orders SET status = ?, status_reason = ?, version = version + 1, updated_at = ?${sets} WHERE id = ? AND status = ?`, [
      to,
      reason ?? null,
      at,
      ...params,
      orderId,
      from,
    ]);
    // The caller checks the UPDATE moved exactly one row and otherwise rolls the whole batch back.
    const row: HistoryRow = [orderId, from, to, reason ?? null, at];
    if (history) history.push(row);
    else this.stageHistory(batch, [row]);
    return index;
  }

  /** Adds one INSERT of history rows (each from stageTransition's collector) to `batch`. */
  stageHistory(batch: SqlBatch, rows: HistoryRow[]): void {
    if (!rows.length) return;
    batch.addRows('INSERT INTO order_status_history (order_id, from_status, to_status, reason, occurred_at)', rows);
  }

  /** Columns that change without a status transition (e.g. the shipment status after SHIPPED). */
  stagePatch(batch: SqlBatch, orderId: string, patch: OrderPatch, at: Date): void {
    const { sets, params } = patchClause(patch);
    batch.add(`UPDATE orders SET updated_at = ?${sets} WHERE id = ?`, [at, ...params, orderId]);
  }

  stageUnitPrices(batch: SqlBatch, orderId: string, prices: Array<{ productId: string; unitPrice: number }>): void {
    for (const p of prices) batch.add('UPDATE order_items SET unit_price = ? WHERE order_id = ? AND product_id = ?', [p.unitPrice, orderId, p.productId]);
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
