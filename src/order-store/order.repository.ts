import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Address, OrderLine } from '../contracts/messages.js';
import { CANCELLABLE_STATUSES, ORDER_STATUSES, type OrderStatus } from '../contracts/order-status.js';
import { affectedRows, expectRows, keyTable, placeholders, type SqlBatch, type SqlValue } from '../platform/database/sql-batch.js';
import { patchKeys, patchSet, type OrderChange } from './order-patch.js';
import {
  toHistoryEntry,
  toLockedOrder,
  toOrder,
  toOrderItem,
  type HistoryEntry,
  type HistoryEntryRow,
  type HistoryValues,
  type LockedOrder,
  type LockedOrderRow,
  type Order,
  type OrderItem,
  type OrderItemRow,
  type OrderRow,
} from './order.rows.js';

const FIND_ORDER = `SELECT id, customer_id, client_id, status, status_reason, version, total, currency, ship_line1, ship_line2, ship_city, ship_postal_code, ship_country,
  correlation_id, payment_id, shipment_id, carrier, tracking_number, estimated_delivery, shipment_status, cancel_requested_at, created_at, updated_at FROM orders WHERE id = ? LIMIT 1`;

/** A new order as intake writes it (RECEIVED), once its customer's id is known. */
export interface ReceivedOrder {
  id: string;
  /** The customer's id, or the SQL that reads it (KnownCustomer.column). */
  customerId: string | SqlValue;
  /** The owner: the OAuth client that created it. */
  clientId: string;
  shippingAddress: Address;
  items: OrderLine[];
  currency: string;
  correlationId: string;
  at: Date;
}

export interface StatusView {
  orderId: string;
  /** The owner (null: from before owners were recorded). */
  clientId: string | null;
  status: OrderStatus;
  reason: string | null;
  updatedAt: Date;
}

/** Which orders a listing reads (GET /api/orders): newest first, by id. */
export interface OrderListFilter {
  /** Only this client's orders; null: every client's (`orders.admin`). */
  owner: string | null;
  /** Only orders in one of these statuses; empty: any. */
  statuses: readonly OrderStatus[];
  /** created_at >= createdFrom. */
  createdFrom?: Date;
  /** created_at < createdTo. */
  createdTo?: Date;
  /** Only orders of customers (of `owner`, if set) with this email, compared case-insensitively. */
  customerEmail?: string;
  /** Only orders older than this one (the cursor's position). */
  beforeId?: string;
  limit: number;
}

/** An order as a listing shows it. */
export interface OrderSummary {
  id: string;
  status: OrderStatus;
  statusReason: string | null;
  total: number | null;
  currency: string;
  createdAt: Date;
  updatedAt: Date;
}

/** An order as a cancel request finds it, after its guarded UPDATE. */
export interface CancelTarget {
  clientId: string | null;
  status: OrderStatus;
  cancelRequestedAt: Date | null;
  correlationId: string;
  updatedAt: Date;
}

/** Orders locked by a saga step, with their lines (in line order). */
export interface LockedOrders {
  orders: LockedOrder[];
  items: OrderItem[];
}

/**
 * The order records: `orders`, their lines (`order_items`) and their status history. Written by the
 * intake and by the saga at each transition, read by the API. Status is always read from here,
 * whatever Kafka is doing (docs/architecture.md §7.5).
 */
@Injectable()
export class OrderRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Adds the new order, its lines and its first history row, which is its first status event (RECEIVED, seq 1 = version 1), to `batch`. */
  stageReceived(batch: SqlBatch, o: ReceivedOrder): void {
    const a = o.shippingAddress;
    const customer: SqlValue = typeof o.customerId === 'string' ? { sql: '?', params: [o.customerId] } : o.customerId;
    batch.add(
      `INSERT INTO orders (id, customer_id, client_id, status, version, currency, ship_line1, ship_line2, ship_city, ship_postal_code, ship_country, correlation_id, created_at, updated_at)
       VALUES (?, ${customer.sql}, ?, 'RECEIVED', 1, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [o.id, ...customer.params, o.clientId, o.currency, a.line1, a.line2 ?? null, a.city, a.postalCode, a.country, o.correlationId, o.at, o.at],
    );
    batch.addRows(
      'INSERT INTO order_items (order_id, line_no, product_id, quantity)',
      o.items.map((item, i) => [o.id, i + 1, item.productId, item.quantity]),
    );
    batch.add(`INSERT INTO order_status_history (order_id, seq, from_status, to_status, occurred_at) VALUES (?, 1, NULL, 'RECEIVED', ?)`, [o.id, o.at]);
  }

  /**
   * Adds the reads of a saga step to `batch`: the orders, locked in id order (so one step of an order
   * runs at a time across consumers, the scheduler and replicas, and batches never deadlock), then their
   * lines. `ids` must be sorted. Returns the reader of those two results.
   */
  stageLockForSaga(batch: SqlBatch, ids: string[], skipLocked: boolean): (results: unknown[]) => LockedOrders {
    const marks = placeholders(ids);
    const orders = batch.add(
      `SELECT id, status, version, shipment_status, customer_id, currency, total, payment_id, correlation_id, ship_line1, ship_line2, ship_city, ship_postal_code, ship_country,
              cancel_requested_at, created_at, updated_at
       FROM orders WHERE id IN (${marks}) ORDER BY id FOR UPDATE${skipLocked ? ' SKIP LOCKED' : ''}`,
      ids,
    );
    const items = batch.add(`SELECT id, order_id, product_id, quantity, unit_price FROM order_items WHERE order_id IN (${marks}) ORDER BY order_id, line_no`, ids);
    return (results) => ({
      orders: (results[orders] as LockedOrderRow[]).map(toLockedOrder),
      items: (results[items] as OrderItemRow[]).map(toOrderItem),
    });
  }

  /**
   * Adds the order changes of a batch of saga messages, each order's net change (see OrderChange).
   * A status change applies only where the order is still in `from` (docs/architecture.md §4: a late or
   * duplicate message changes nothing). Orders with the same kind of change (the same move and patched
   * columns) share one UPDATE, their values chosen by id: one statement per kind instead of one per
   * order. An UPDATE that moves a status must move every one of its orders: the caller holds their
   * locks, so otherwise the batch fails and the transaction rolls back.
   */
  stageChanges(batch: SqlBatch, changes: Iterable<OrderChange>, at: Date): void {
    for (const group of groupByKind(changes)) stageChangeGroup(batch, group, at);
  }

  /**
   * Adds a cancel request to `batch` (docs/adr/0009-order-cancellation.md): marks the order
   * `cancel_requested_at = at` only while it is in a cancellable status, not yet marked and, unless
   * `owner` is null (an admin), owned by `owner`; then reads it back. The UPDATE's row lock orders it
   * with the saga's (FOR UPDATE): either the saga sees the mark, or the UPDATE sees the saga's status.
   * Returns the reader: whether this request marked it, and the order as it is (null: none).
   */
  stageCancelRequest(batch: SqlBatch, orderId: string, owner: string | null, at: Date): (results: unknown[]) => { marked: boolean; order: CancelTarget | null } {
    const cancellable = [...CANCELLABLE_STATUSES];
    const update = batch.add(
      `UPDATE orders SET cancel_requested_at = ?
        WHERE id = ? AND status IN (${placeholders(cancellable)}) AND cancel_requested_at IS NULL${owner === null ? '' : ' AND client_id = ?'}`,
      [at, orderId, ...cancellable, ...(owner === null ? [] : [owner])],
    );
    const read = batch.add('SELECT client_id, status, cancel_requested_at, correlation_id, updated_at FROM orders WHERE id = ?', [orderId]);
    return (results) => {
      const [r] = results[read] as Array<{ client_id: string | null; status: OrderStatus; cancel_requested_at: Date | null; correlation_id: string; updated_at: Date }>;
      const order = r
        ? {
            clientId: r.client_id,
            status: r.status,
            cancelRequestedAt: r.cancel_requested_at === null ? null : new Date(r.cancel_requested_at),
            correlationId: r.correlation_id,
            updatedAt: new Date(r.updated_at),
          }
        : null;
      return { marked: affectedRows(results[update]) === 1, order };
    };
  }

  /** Adds one INSERT of history rows (the orders' status events) to `batch`. */
  stageHistory(batch: SqlBatch, rows: HistoryValues[]): void {
    if (!rows.length) return;
    batch.addRows('INSERT INTO order_status_history (order_id, seq, from_status, to_status, reason, occurred_at)', rows);
  }

  /**
   * Adds the unit prices reservations brought (order line id, price) to `batch`, in one UPDATE.
   * The lines are found by their primary key, which locks those rows only: through the unique
   * (order_id, line_no) index InnoDB would take next-key locks, which also lock the gap before each
   * line, and a new order whose lines fall into such a gap would wait for this transaction.
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

  /** The whole order, or null if there is none. */
  async find(orderId: string): Promise<Order | null> {
    const [row] = (await this.dataSource.query(FIND_ORDER, [orderId])) as OrderRow[];
    return row ? toOrder(row) : null;
  }

  /** The order's lines, in line order. */
  async findItems(orderId: string): Promise<OrderItem[]> {
    const rows = (await this.dataSource.query('SELECT id, order_id, product_id, quantity, unit_price FROM order_items WHERE order_id = ? ORDER BY line_no ASC', [
      orderId,
    ])) as OrderItemRow[];
    return rows.map(toOrderItem);
  }

  /** The order's status history, oldest first. */
  async findHistory(orderId: string): Promise<HistoryEntry[]> {
    const rows = (await this.dataSource.query('SELECT from_status, to_status, reason, occurred_at FROM order_status_history WHERE order_id = ? ORDER BY id ASC', [
      orderId,
    ])) as HistoryEntryRow[];
    return rows.map(toHistoryEntry);
  }

  /** The light status query: one primary-key read. */
  async findStatus(orderId: string): Promise<StatusView | null> {
    const rows = await this.dataSource.query('SELECT id, client_id, status, status_reason, updated_at FROM orders WHERE id = ?', [orderId]);
    if (!rows.length) return null;
    const r = rows[0];
    return { orderId: r.id, clientId: r.client_id, status: r.status, reason: r.status_reason, updatedAt: new Date(r.updated_at) };
  }

  /**
   * One page of a listing, newest first: `ORDER BY id DESC` over time-ordered ids, each filter served
   * by an index that ends in `id` (migration 1765300000000), so the page is one backward range scan.
   */
  async list(filter: OrderListFilter): Promise<OrderSummary[]> {
    const { sql, params } = listStatement(filter);
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(sql, params);
    return rows.map((r) => ({
      id: r.id as string,
      status: r.status as OrderStatus,
      statusReason: (r.status_reason as string | null) ?? null,
      total: r.total as number | null,
      currency: r.currency as string,
      createdAt: new Date(r.created_at as Date),
      updatedAt: new Date(r.updated_at as Date),
    }));
  }

  /** Orders in RECEIVED or PAYMENT_COMPLETED not updated for `stalledAfterS` seconds (no step deadline watches them). */
  async findStalled(stalledAfterS: number, limit: number): Promise<Array<{ id: string; correlationId: string }>> {
    const rows: Array<{ id: string; correlation_id: string }> = await this.dataSource.query(
      `SELECT id, correlation_id FROM orders WHERE status IN ('RECEIVED', 'PAYMENT_COMPLETED') AND updated_at < UTC_TIMESTAMP(3) - INTERVAL ? SECOND LIMIT ?`,
      [stalledAfterS, limit],
    );
    return rows.map((r) => ({ id: r.id, correlationId: r.correlation_id }));
  }
}

/** The changes grouped by kind: the same move (or none) and the same patched columns. */
function groupByKind(changes: Iterable<OrderChange>): Iterable<OrderChange[]> {
  const kinds = new Map<string, OrderChange[]>();
  for (const change of changes) {
    const move = change.move ? [change.move.from, change.move.to, change.move.reason ?? ''] : ['patch'];
    const kind = [...move, change.events, ...patchKeys(change.patch)].join('|');
    const same = kinds.get(kind);
    if (same) same.push(change);
    else kinds.set(kind, [change]);
  }
  return kinds.values();
}

/** One UPDATE for a group of orders with the same kind of change. */
function stageChangeGroup(batch: SqlBatch, group: OrderChange[], at: Date): void {
  const { move, patch, events } = group[0];
  const sets = ['updated_at = ?'];
  const params: unknown[] = [at];
  if (move) {
    sets.push('status = ?', 'status_reason = ?');
    params.push(move.to, move.reason ?? null);
  }
  if (events) {
    // One version per event of the order's log: its last event's seq is its version.
    sets.push('version = version + ?');
    params.push(events);
  }
  for (const key of patchKeys(patch)) {
    // One order: its value; several: each order's own, picked by id.
    const value = group.length === 1 ? '?' : `CASE o.id ${group.map(() => 'WHEN ? THEN ?').join(' ')} END`;
    params.push(...(group.length === 1 ? [patch[key]] : group.flatMap((c) => [c.orderId, c.patch[key]])));
    sets.push(patchSet(key, value));
  }
  const orderIds = group.map((c) => c.orderId);
  batch.add(
    `UPDATE ${keyTable('k')} STRAIGHT_JOIN orders o ON o.id = k.id SET ${sets.join(', ')}${move ? ' WHERE o.status = ?' : ''}`,
    [JSON.stringify(orderIds), ...params, ...(move ? [move.from] : [])],
    // The orders' row locks are held, so this cannot happen; if it does, the whole transaction rolls back.
    move ? expectRows(orderIds.length, (moved) => `${orderIds.length - moved} of orders ${orderIds.join(', ')} left their status while locked`) : undefined,
  );
}

/**
 * How far an order's id time may lie from its created_at: the id is taken just before the intake's
 * transaction sets created_at (milliseconds to seconds under load); generous, as it only bounds a scan.
 */
const ID_TIME_SLACK_MS = 5 * 60_000;

/** The smallest UUIDv7 of millisecond `ms`: ids start with their creation time (src/contracts/ids.ts). */
function firstIdAt(ms: number): string {
  const hex = Math.min(Math.max(ms, 0), 2 ** 48 - 1)
    .toString(16)
    .padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8)}-0000-0000-000000000000`;
}

const LIST_COLUMNS = 'o.id, o.status, o.status_reason, o.total, o.currency, o.created_at, o.updated_at';

/**
 * The SELECT of one page of a listing (exported for the test that EXPLAINs it). Several statuses
 * (without an email, whose orders are few) are one ordered index scan per status, merged: a single
 * scan over all of them would sort every matching order before taking the page.
 */
export function listStatement(f: OrderListFilter): { sql: string; params: unknown[] } {
  // A client's orders in any status are its orders in each status, merged: there is no index led by
  // the client (migration 1765200000000 says why).
  const statuses = f.owner !== null && !f.statuses.length && f.customerEmail === undefined ? ORDER_STATUSES : f.statuses;
  if (statuses.length < 2 || f.customerEmail !== undefined) return pageStatement(f);
  const parts = statuses.map((status) => pageStatement({ ...f, statuses: [status] }));
  return {
    sql: `SELECT * FROM (${parts.map((p) => `(${p.sql})`).join(' UNION ALL ')}) AS page ORDER BY id DESC LIMIT ?`,
    params: [...parts.flatMap((p) => p.params), f.limit],
  };
}

/**
 * One backward scan of the index `indexFor` names. The index is forced: with LIMIT and several
 * candidate indexes MariaDB's estimates picked index intersections that sort thousands of rows, or the
 * primary key with every other client's orders filtered out (EXPLAIN on 100,000 orders).
 */
function pageStatement(f: OrderListFilter): { sql: string; params: unknown[] } {
  const { where, params } = listConditions(f);
  const orders = `orders o FORCE INDEX (${indexFor(f)})`;
  // An email: its customers first (a few), then each one's orders.
  const from = f.customerEmail === undefined ? orders : `customers c STRAIGHT_JOIN ${orders} ON o.customer_id = c.id`;
  return {
    sql: `SELECT ${LIST_COLUMNS} FROM ${from} WHERE ${where.length ? where.join(' AND ') : 'TRUE'} ORDER BY o.id DESC LIMIT ?`,
    params: [...params, f.limit],
  };
}

/** The index that holds a listing's orders in id order with the fewest others (migration 1765300000000). */
function indexFor(f: OrderListFilter): string {
  if (f.customerEmail !== undefined) return 'ix_orders_customer';
  return f.statuses.length ? 'ix_orders_status' : 'PRIMARY';
}

/**
 * The WHERE of a listing. The date range also bounds the ids (with ID_TIME_SLACK_MS), so a range scan
 * by id starts near createdTo and stops near createdFrom instead of reading a client's whole history.
 */
function listConditions(f: OrderListFilter): { where: string[]; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (condition: string, ...values: unknown[]): void => {
    where.push(condition);
    params.push(...values);
  };
  if (f.owner !== null) add('o.client_id = ?', f.owner);
  if (f.statuses.length) add(`o.status IN (${placeholders(f.statuses)})`, ...f.statuses);
  if (f.customerEmail !== undefined) {
    // The column's collation compares case-insensitively; a customer is its client's own.
    if (f.owner !== null) add('c.client_id = ?', f.owner);
    add('c.email = ?', f.customerEmail);
  }
  if (f.beforeId !== undefined) add('o.id < ?', f.beforeId);
  if (f.createdTo) add('o.created_at < ? AND o.id < ?', f.createdTo, firstIdAt(f.createdTo.getTime() + ID_TIME_SLACK_MS));
  if (f.createdFrom) add('o.created_at >= ? AND o.id >= ?', f.createdFrom, firstIdAt(f.createdFrom.getTime() - ID_TIME_SLACK_MS));
  return { where, params };
}
