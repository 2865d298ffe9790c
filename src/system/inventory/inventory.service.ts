import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { newEnvelope, type Envelope } from '../../contracts/envelope.js';
import type { OrderLine, PricedLine } from '../../contracts/messages.js';
import { affectedRows, SqlBatch } from '../../platform/database/sql-batch.js';
import type { TypedEnvelope } from '../../platform/messaging/message-processor.service.js';
import { correlation } from '../../platform/observability/correlation.js';
import { OutboxService, type Trace } from '../../platform/messaging/outbox.service.js';
import { assertUnreachable } from '../shared/assert-unreachable.js';
import { lineTotal } from '../shared/decimal.transformer.js';
import { InventoryErrorCode, InventoryException } from './inventory.exception.js';
import { InventorySimulator } from './inventory.simulator.js';
import type { ReservationStatus } from './stock-reservation.entity.js';

export type InventoryCommand = TypedEnvelope<'ReserveStock' | 'ReleaseStock' | 'CommitStock'>;

/** Lines of one product merged, in the order the products first appear. */
export function mergeLines(items: readonly OrderLine[]): OrderLine[] {
  const merged = new Map<string, number>();
  for (const { productId, quantity } of items) merged.set(productId, (merged.get(productId) ?? 0) + quantity);
  return [...merged].map(([productId, quantity]) => ({ productId, quantity }));
}

/** A product row as locked for a reservation (DECIMAL columns come back as numbers). */
interface ProductRow {
  product_id: string;
  unit_price: number;
  currency: string;
  stock_on_hand: number;
  stock_reserved: number;
}

/** One of the order's reservation lines, with the catalogue currency of its product (null if gone). */
interface ReservationRow {
  id: number | string;
  product_id: string;
  quantity: number;
  unit_price: number;
  status: ReservationStatus;
  currency: string | null;
}

/**
 * The inventory system: real stock in `products`, one reservation row per order and product.
 * Every method works in the caller's transaction (the message processor's, with its inbox row) and
 * stages its messages in the outbox, delayed by the simulated latency; it never waits.
 * Each command costs one read and at most one write round trip (SqlBatch).
 * Product rows are always locked in productId order, before any reservation row, so that
 * concurrent orders cannot deadlock: reservation rows are only read without locks, and written
 * after the product rows in the same batch.
 */
@Injectable()
export class InventoryService {
  private readonly logger = new Logger(InventoryService.name);

  constructor(
    private readonly outbox: OutboxService,
    private readonly simulator: InventorySimulator,
  ) {}

  async handle(message: InventoryCommand, tx: EntityManager): Promise<void> {
    switch (message.eventType) {
      case 'ReserveStock':
        return this.reserve(message, tx);
      case 'ReleaseStock':
        return this.finish(message, tx, 'RELEASED');
      case 'CommitStock':
        return this.finish(message, tx, 'COMMITTED');
      default:
        return assertUnreachable(message, 'inventory command');
    }
  }

  /**
   * Commands of one partition in one transaction. Every product any of them may touch is locked
   * first, in productId order: each command alone keeps that order, but two batches locking their
   * commands' products one command after the other would deadlock on each other.
   */
  async handleMany(messages: InventoryCommand[], tx: EntityManager): Promise<void> {
    if (messages.length > 1) await this.lockProductsOf(messages, tx);
    for (const message of messages) {
      await correlation.run({ correlationId: message.correlationId, orderId: message.orderId, eventId: message.eventId }, () => this.handle(message, tx));
    }
  }

  private async lockProductsOf(messages: InventoryCommand[], tx: EntityManager): Promise<void> {
    const productIds = new Set(messages.flatMap((m) => (m.eventType === 'ReserveStock' ? m.payload.items.map((i) => i.productId) : [])));
    const finishing = messages.filter((m) => m.eventType !== 'ReserveStock').map((m) => m.orderId);
    if (finishing.length) {
      const held: Array<{ product_id: string }> = await tx.query(
        `SELECT DISTINCT product_id FROM stock_reservations WHERE order_id IN (${finishing.map(() => '?').join(',')}) AND status = 'RESERVED'`,
        finishing,
      );
      for (const r of held) productIds.add(r.product_id);
    }
    if (!productIds.size) return;
    const ids = [...productIds].sort();
    await tx.query(`SELECT product_id FROM products WHERE product_id IN (${ids.map(() => '?').join(',')}) ORDER BY product_id FOR UPDATE`, ids);
  }

  private async reserve(message: TypedEnvelope<'ReserveStock'>, tx: EntityManager): Promise<void> {
    const { orderId } = message;
    const trace = traceOf(message);
    // Drawn first and always, so a seeded run makes the same choices for the same commands.
    const decision = this.simulator.decide();
    const delay = { delayMs: decision.delayMs };
    const wanted = mergeLines(message.payload.items);

    // Read round trip: the order's reservations (a plain read, no locks) and the wanted products,
    // locked in productId order. A retry locks its products too, which costs nothing but a wait.
    const read = new SqlBatch();
    const existingAt = read.add(
      `SELECT r.id, r.product_id, r.quantity, r.unit_price, r.status, p.currency
         FROM stock_reservations r LEFT JOIN products p ON p.product_id = r.product_id
        WHERE r.order_id = ? ORDER BY r.id`,
      [orderId],
    );
    const productIds = [...new Set(wanted.map((l) => l.productId))];
    const productsAt = read.add(
      `SELECT product_id, unit_price, currency, stock_on_hand, stock_reserved FROM products WHERE product_id IN (${productIds.map(() => '?').join(',')}) ORDER BY product_id FOR UPDATE`,
      productIds,
    );
    const results = await read.run(tx);
    const existing = results[existingAt] as ReservationRow[];
    const products = new Map((results[productsAt] as ProductRow[]).map((p) => [p.product_id, p]));

    const write = new SqlBatch();
    const messages: Envelope[] = [];
    try {
      if (existing.length) {
        if (existing.some((r) => r.status === 'RELEASED')) {
          throw new InventoryException(InventoryErrorCode.ORDER_CLOSED, 'the reservation of this order was released; it cannot be reserved again');
        }
        // A retry of a reservation that went through: same answer, nothing more reserved.
        const lines: PricedLine[] = existing.map((r) => ({ productId: r.product_id, quantity: r.quantity, unitPrice: Number(r.unit_price) }));
        const currency = existing[0].currency ?? message.payload.currency;
        this.logger.log(`order ${orderId} already holds its reservation; confirming again`);
        messages.push(newEnvelope('StockReservationConfirmed', orderId, { items: lines, total: lineTotal(lines), currency }, trace));
      } else {
        const unknown = wanted.filter((l) => !products.has(l.productId)).map((l) => l.productId);
        if (unknown.length) throw new InventoryException(InventoryErrorCode.UNKNOWN_PRODUCT, `unknown product(s): ${unknown.join(', ')}`);
        const short = wanted.filter((l) => available(products.get(l.productId)!) < l.quantity);
        if (short.length) {
          const detail = short.map((l) => `${l.productId} wanted ${l.quantity}, available ${available(products.get(l.productId)!)}`).join('; ');
          throw new InventoryException(InventoryErrorCode.OUT_OF_STOCK, detail);
        }
        if (decision.outcome === 'unavailable') throw new InventoryException(InventoryErrorCode.UNAVAILABLE, 'simulated inventory outage');

        const now = new Date();
        // The rows are locked already; updated in productId order all the same.
        for (const line of [...wanted].sort(byProductId)) {
          write.add('UPDATE products SET stock_reserved = stock_reserved + ? WHERE product_id = ?', [line.quantity, line.productId]);
        }
        const lines: PricedLine[] = wanted.map((l) => ({ ...l, unitPrice: Number(products.get(l.productId)!.unit_price) }));
        // One row per line, in the order of the command (the ids give a retry the same order).
        write.add(
          `INSERT INTO stock_reservations (order_id, product_id, quantity, unit_price, status, created_at, updated_at) VALUES ${lines.map(() => `(?, ?, ?, ?, 'RESERVED', ?, ?)`).join(', ')}`,
          lines.flatMap((l) => [orderId, l.productId, l.quantity, l.unitPrice, now, now]),
        );
        const currency = products.get(wanted[0].productId)!.currency;
        const total = lineTotal(lines);
        this.logger.log(`order ${orderId}: reserved ${lines.length} line(s), total ${total} ${currency}, answering in ${decision.delayMs} ms`);
        messages.push(newEnvelope('StockReservationConfirmed', orderId, { items: lines, total, currency }, trace), newEnvelope('StockReserved', orderId, { items: wanted }, trace));
      }
    } catch (err) {
      if (!(err instanceof InventoryException)) throw err;
      // Nothing is written before a rejection: the reply is the only effect.
      this.logger.log(`order ${orderId}: reservation rejected (${err.message})`);
      messages.push(newEnvelope('StockReservationRejected', orderId, err.toRejection(), trace));
    }
    this.outbox.stage(write, messages, delay);
    await write.run(tx);
  }

  /** Release (saga compensation, replies) or commit (the order shipped, no reply) what the order holds. */
  private async finish(message: TypedEnvelope<'ReleaseStock' | 'CommitStock'>, tx: EntityManager, to: 'RELEASED' | 'COMMITTED'): Promise<void> {
    const { orderId } = message;
    const trace = traceOf(message);
    const delay = { delayMs: this.simulator.latency() };
    // Read round trip: a plain read (no locks), so that the product rows are locked first below, in
    // the database's productId order, the order in which reserve locks them.
    const held: Array<Pick<ReservationRow, 'id' | 'product_id' | 'quantity'>> = await tx.query(
      `SELECT id, product_id, quantity FROM stock_reservations WHERE order_id = ? AND status = 'RESERVED' ORDER BY product_id`,
      [orderId],
    );

    // Write round trip: relative stock updates in productId order (each locks its product row),
    // then the reservation rows, guarded by their status (a change since the read rolls back below).
    const write = new SqlBatch();
    const productUpdates: number[] = [];
    let guarded = -1;
    if (held.length) {
      const now = new Date();
      for (const r of held) {
        productUpdates.push(
          to === 'COMMITTED'
            ? write.add('UPDATE products SET stock_reserved = stock_reserved - ?, stock_on_hand = stock_on_hand - ? WHERE product_id = ?', [r.quantity, r.quantity, r.product_id])
            : write.add('UPDATE products SET stock_reserved = stock_reserved - ? WHERE product_id = ?', [r.quantity, r.product_id]),
        );
      }
      guarded = write.add(`UPDATE stock_reservations SET status = ?, updated_at = ? WHERE id IN (${held.map(() => '?').join(',')}) AND status = 'RESERVED'`, [
        to,
        now,
        ...held.map((r) => r.id),
      ]);
    }
    const items = held.map((r) => ({ productId: r.product_id, quantity: r.quantity }));
    const messages: Envelope[] = [];
    if (to === 'RELEASED') {
      this.logger.log(held.length ? `order ${orderId}: released ${held.length} line(s)` : `order ${orderId}: nothing to release`);
      messages.push(newEnvelope('StockReleaseConfirmed', orderId, { released: held.length > 0 }, trace));
      if (held.length) messages.push(newEnvelope('StockReleased', orderId, { items }, trace));
    } else if (held.length) {
      this.logger.log(`order ${orderId}: committed ${held.length} line(s)`);
      messages.push(newEnvelope('StockCommitted', orderId, { items }, trace));
    } else {
      this.logger.warn(`order ${orderId}: CommitStock found no reservation to commit`);
    }
    this.outbox.stage(write, messages, delay);
    const results = await write.run(tx);

    // Any surprise rolls the whole transaction back (the message is retried, then dead-lettered).
    held.forEach((r, i) => {
      if (affectedRows(results[productUpdates[i]]) !== 1) {
        throw new Error(`reservation ${r.id} of order ${orderId} names product ${r.product_id}, which no longer exists`);
      }
    });
    if (held.length && affectedRows(results[guarded]) !== held.length) {
      throw new Error(`order ${orderId}: ${held.length} reservation line(s) were RESERVED when read, but only ${affectedRows(results[guarded])} when ${to}; rolling back`);
    }
  }
}

function available(p: ProductRow): number {
  return p.stock_on_hand - p.stock_reserved;
}

function byProductId(a: OrderLine, b: OrderLine): number {
  return a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0;
}

function traceOf(message: { correlationId: string; eventId: string }): Trace {
  return { correlationId: message.correlationId, causationId: message.eventId };
}
