import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
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

/** A shipment's final status is never overwritten by a late, earlier one (replies cross topics). */
function patchSql(key: keyof OrderPatch): string {
  if (key === 'shipmentStatus') return `shipment_status = IF(shipment_status IN ('DELIVERED', 'FAILED'), shipment_status, ?)`;
  return `${PATCH_COLUMNS[key]} = ?`;
}

/**
 * The order records (orders, items, history, customers): written by the experience layer at intake
 * and by the saga at each transition, read by the API. Status is always read from here, whatever
 * Kafka is doing (DESIGN §7.5).
 */
@Injectable()
export class OrderStoreService {
  constructor(private readonly dataSource: DataSource) {}

  /** Inserts the order as RECEIVED with its items, first history row and customer, in `tx`. */
  async insertReceived(tx: EntityManager, o: NewOrder): Promise<{ customerId: string }> {
    const customerKey = o.customer.externalId ? `id:${o.customer.externalId}` : `email:${o.customer.email.toLowerCase()}`;
    await tx.query(
      `INSERT INTO customers (id, customer_key, external_id, name, email, phone, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE name = VALUES(name), email = VALUES(email), phone = VALUES(phone), updated_at = VALUES(updated_at)`,
      [randomUUID(), customerKey, o.customer.externalId ?? null, o.customer.name, o.customer.email, o.customer.phone ?? null, o.at, o.at],
    );
    const [customer] = await tx.query('SELECT id FROM customers WHERE customer_key = ?', [customerKey]);
    const a = o.shippingAddress;
    await tx.query(
      `INSERT INTO orders (id, customer_id, status, version, currency, ship_line1, ship_line2, ship_city, ship_postal_code, ship_country, correlation_id, created_at, updated_at)
       VALUES (?, ?, 'RECEIVED', 1, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [o.id, customer.id, o.currency, a.line1, a.line2 ?? null, a.city, a.postalCode, a.country, o.correlationId, o.at, o.at],
    );
    await tx.query(
      `INSERT INTO order_items (order_id, line_no, product_id, quantity) VALUES ${o.items.map(() => '(?, ?, ?, ?)').join(', ')}`,
      o.items.flatMap((item, i) => [o.id, i + 1, item.productId, item.quantity]),
    );
    await tx.query(`INSERT INTO order_status_history (order_id, from_status, to_status, occurred_at) VALUES (?, NULL, 'RECEIVED', ?)`, [o.id, o.at]);
    return { customerId: customer.id as string };
  }

  /**
   * Moves an order from `from` to `to` only if it is still in `from` (DESIGN §4: a late or
   * duplicate message changes nothing), appending the history row. Returns whether it moved.
   */
  async transition(tx: EntityManager, orderId: string, from: OrderStatus, to: OrderStatus, at: Date, reason?: FailureReason, patch: OrderPatch = {}): Promise<boolean> {
    const sets = ['status = ?', 'status_reason = ?', 'version = version + 1', 'updated_at = ?'];
    const params: unknown[] = [to, reason ?? null, at];
    for (const [key, value] of Object.entries(patch) as Array<[keyof OrderPatch, unknown]>) {
      if (value === undefined) continue;
      sets.push(patchSql(key));
      params.push(value);
    }
    const result = await tx.query(`UPDATE orders SET ${sets.join(', ')} WHERE id = ? AND status = ?`, [...params, orderId, from]);
    if (affected(result) !== 1) return false;
    await tx.query('INSERT INTO order_status_history (order_id, from_status, to_status, reason, occurred_at) VALUES (?, ?, ?, ?, ?)', [orderId, from, to, reason ?? null, at]);
    return true;
  }

  /** Sets columns that change without a status transition (e.g. the shipment status after SHIPPED). */
  async patch(tx: EntityManager, orderId: string, patch: OrderPatch, at: Date): Promise<void> {
    const sets = ['updated_at = ?'];
    const params: unknown[] = [at];
    for (const [key, value] of Object.entries(patch) as Array<[keyof OrderPatch, unknown]>) {
      if (value === undefined) continue;
      sets.push(patchSql(key));
      params.push(value);
    }
    await tx.query(`UPDATE orders SET ${sets.join(', ')} WHERE id = ?`, [...params, orderId]);
  }

  async setUnitPrices(tx: EntityManager, orderId: string, prices: Array<{ productId: string; unitPrice: number }>): Promise<void> {
    for (const p of prices) {
      await tx.query('UPDATE order_items SET unit_price = ? WHERE order_id = ? AND product_id = ?', [p.unitPrice, orderId, p.productId]);
    }
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

export function affected(result: unknown): number {
  if (result && typeof result === 'object' && !Array.isArray(result)) {
    const r = result as { affectedRows?: number; affected?: number };
    return r.affectedRows ?? r.affected ?? 0;
  }
  if (Array.isArray(result) && result.length === 2 && typeof result[1] === 'number') return result[1];
  if (Array.isArray(result) && result.length && typeof result[0] === 'object') return affected(result[0]);
  return 0;
}
