import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { expectRows, placeholders, SqlBatch } from '../../platform/database/sql-batch.js';
import { OutboxService, type OutgoingMessages } from '../../platform/messaging/outbox.service.js';
import { compensatedOrders } from '../common/compensated-orders.js';

export type ReservationStatus = 'RESERVED' | 'RELEASED' | 'COMMITTED';

/** A catalogue entry with its stock. */
export interface Product {
  productId: string;
  name: string;
  unitPrice: number;
  currency: string;
  onHand: number;
  reserved: number;
}

/** A product's stock as locked for a batch (the rows the batch updates). */
export type Stock = Omit<Product, 'name'>;

/** One product line held for an order; `id` is undefined for a line this batch inserts. */
export interface ReservationLine {
  id?: number | string;
  orderId: string;
  productId: string;
  quantity: number;
  /** Priced from the catalogue when it was reserved. */
  unitPrice: number;
  status: ReservationStatus;
  /** The catalogue currency of the product (null if it is gone). */
  currency: string | null;
}

/** A product's net stock change in a batch; `heldBy` names a line read from the database that touches it. */
export interface StockChange {
  reserved: number;
  onHand: number;
  heldBy?: { id: number | string; orderId: string };
}

/** What one batch writes, in the order its commands were decided. */
export interface InventoryWrites {
  stock: Map<string, StockChange>;
  /** Orders released for the first time in this batch (remembered even when nothing was held). */
  compensated: string[];
  inserts: ReservationLine[];
  /** Lines read as RESERVED that leave that status (guarded: a change since the read rolls the batch back). */
  statusChanges: Array<{ orderId: string; to: 'RELEASED' | 'COMMITTED'; lines: ReservationLine[] }>;
  outgoing: OutgoingMessages[];
}

/** What the read round trip found. */
export interface InventoryRead {
  reservations: ReservationLine[];
  /** Orders this module released before: a reservation for them is refused. */
  compensated: Set<string>;
  /** The products asked to be locked, or null when none were. */
  stock: Map<string, Stock> | null;
}

interface ProductRow {
  product_id: string;
  name: string;
  unit_price: number;
  currency: string;
  stock_on_hand: number;
  stock_reserved: number;
}

type StockRow = Omit<ProductRow, 'name'>;

interface ReservationRow {
  id: number | string;
  order_id: string;
  product_id: string;
  quantity: number;
  unit_price: number;
  status: ReservationStatus;
  currency: string | null;
}

function toProduct(row: ProductRow): Product {
  return { ...toStock(row), name: row.name };
}

function toStock(row: StockRow): Stock {
  return { productId: row.product_id, unitPrice: Number(row.unit_price), currency: row.currency, onHand: row.stock_on_hand, reserved: row.stock_reserved };
}

function toReservationLine(row: ReservationRow): ReservationLine {
  return { id: row.id, orderId: row.order_id, productId: row.product_id, quantity: row.quantity, unitPrice: Number(row.unit_price), status: row.status, currency: row.currency };
}

/** Product rows in productId order, locked: every batch locks in this order, so batches cannot deadlock. */
function lockStock(ids: string[]): string {
  return `SELECT product_id, unit_price, currency, stock_on_hand, stock_reserved FROM products WHERE product_id IN (${placeholders(ids)}) ORDER BY product_id FOR UPDATE`;
}

function stockMap(rows: unknown): Map<string, Stock> {
  return new Map((rows as StockRow[]).map((row) => [row.product_id, toStock(row)]));
}

/**
 * Adds the products that are missing, with nothing reserved; an existing product keeps its stock.
 * Outside the module's injector, for the database CLI's seed. Returns how many were added.
 */
export async function insertMissingProducts(dataSource: DataSource, products: ReadonlyArray<Omit<Product, 'reserved'>>): Promise<number> {
  const params = products.flatMap((p) => [p.productId, p.name, p.unitPrice, p.currency, p.onHand]);
  const result = await dataSource.query(
    `INSERT IGNORE INTO products (product_id, name, unit_price, currency, stock_on_hand, stock_reserved) VALUES ${products.map(() => '(?, ?, ?, ?, ?, 0)').join(', ')}`,
    params,
  );
  return Number((result as { affectedRows?: number }).affectedRows ?? 0);
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * All SQL of the inventory's tables, `products` (catalogue and stock) and `stock_reservations`: one
 * repository, because a batch reads, locks and writes both in the same round trips. Product rows are
 * always locked in productId order, and before any reservation row is written; reservation rows are
 * only read without locks.
 */
@Injectable()
export class InventoryRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxService,
  ) {}

  /** The catalogue, in productId order. */
  async catalogue(): Promise<Product[]> {
    const rows: ProductRow[] = await this.dataSource.query('SELECT product_id, name, unit_price, currency, stock_on_hand, stock_reserved FROM products ORDER BY product_id');
    return rows.map(toProduct);
  }

  /**
   * One round trip: the orders' reservation lines (a plain read, no locks) with their products'
   * currency, which of the orders were released before, and the `lock` products, locked.
   */
  async read(tx: EntityManager, orderIds: string[], lock: string[] | null): Promise<InventoryRead> {
    const read = new SqlBatch();
    const reservationsAt = read.add(
      `SELECT r.id, r.order_id, r.product_id, r.quantity, r.unit_price, r.status, p.currency
         FROM stock_reservations r LEFT JOIN products p ON p.product_id = r.product_id
        WHERE r.order_id IN (${placeholders(orderIds)}) ORDER BY r.id`,
      orderIds,
    );
    const compensatedAt = compensatedOrders.select(read, 'inventory', orderIds);
    const stockAt = lock?.length ? read.add(lockStock(lock), lock) : -1;
    const results = await read.run(tx);
    return {
      reservations: (results[reservationsAt] as ReservationRow[]).map(toReservationLine),
      compensated: compensatedOrders.ids(results[compensatedAt]),
      stock: stockAt >= 0 ? stockMap(results[stockAt]) : null,
    };
  }

  /** One round trip: these products (in productId order), locked. */
  async lockStock(tx: EntityManager, productIds: string[]): Promise<Map<string, Stock>> {
    return stockMap(await tx.query(lockStock(productIds), productIds));
  }

  /**
   * The write round trip: relative stock updates (one per product, in productId order; first a
   * locking read of them in the same order when `lockFirst`), the new reservation lines, the guarded
   * status changes and the outbox rows, in the order of the commands. Any surprise rolls the whole
   * transaction back (the batch then runs again one command at a time).
   */
  async write(tx: EntityManager, writes: InventoryWrites, now: Date, lockFirst: boolean): Promise<void> {
    const write = new SqlBatch();
    this.stageStock(write, writes.stock, lockFirst);
    compensatedOrders.record(write, 'inventory', writes.compensated, now);
    if (writes.inserts.length) {
      write.addRows(
        'INSERT INTO stock_reservations (order_id, product_id, quantity, unit_price, status, created_at, updated_at)',
        writes.inserts.map((line) => [line.orderId, line.productId, line.quantity, line.unitPrice, line.status, now, now]),
      );
    }
    for (const { orderId, to, lines } of writes.statusChanges) {
      write.add(
        `UPDATE stock_reservations SET status = ?, updated_at = ? WHERE id IN (${placeholders(lines)}) AND status = 'RESERVED'`,
        [to, now, ...lines.map((r) => r.id)],
        expectRows(lines.length, (n) => `order ${orderId}: ${lines.length} reservation line(s) were RESERVED when read, but only ${n} when ${to}; rolling back`),
      );
    }
    this.outbox.stageEach(write, writes.outgoing);
    await write.run(tx);
  }

  private stageStock(write: SqlBatch, changes: Map<string, StockChange>, lockFirst: boolean): void {
    const stock = [...changes].filter(([, d]) => d.reserved !== 0 || d.onHand !== 0).sort(([a], [b]) => compareIds(a, b));
    if (lockFirst && stock.length) {
      const ids = stock.map(([id]) => id);
      write.add(lockStock(ids), ids);
    }
    for (const [productId, d] of stock) {
      const by = d.heldBy ? `reservation ${d.heldBy.id} of order ${d.heldBy.orderId} names product` : 'product';
      const gone = () => `${by} ${productId}, which no longer exists`;
      if (d.onHand) {
        write.add(
          'UPDATE products SET stock_reserved = stock_reserved + ?, stock_on_hand = stock_on_hand + ? WHERE product_id = ?',
          [d.reserved, d.onHand, productId],
          expectRows(1, gone),
        );
      } else {
        write.add('UPDATE products SET stock_reserved = stock_reserved + ? WHERE product_id = ?', [d.reserved, productId], expectRows(1, gone));
      }
    }
  }
}
