import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { newEnvelope, type Envelope } from '../../contracts/envelope.js';
import type { OrderLine, PricedLine } from '../../contracts/messages.js';
import { affectedRows, placeholders, SqlBatch } from '../../platform/database/sql-batch.js';
import type { TypedEnvelope } from '../../platform/messaging/message-processor.service.js';
import { correlation, messageTrace } from '../../platform/observability/correlation.js';
import { causedBy, OutboxService, type OutgoingMessages } from '../../platform/messaging/outbox.service.js';
import { assertUnreachable } from '../../common/assert-unreachable.js';
import { compensatedOrders } from '../common/compensated-orders.js';
import { lineTotal } from '../common/decimal.transformer.js';
import { InventoryErrorCode, InventoryException } from './inventory.exception.js';
import { InventorySimulator, type InventoryDecision } from './inventory.simulator.js';
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
  order_id: string;
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
 *
 * A batch of commands (or one command, a batch of one) costs at most three round trips (SqlBatch):
 * a read of the orders' reservations (a plain read, no locks) with, when nothing in the batch
 * releases or commits, the wanted products locked; when something does, a second round trip that
 * locks every product the batch touches; then one write round trip. Each command is decided in
 * memory, in order, against the stock and reservations the commands before it left.
 * Product rows are always locked in productId order (ORDER BY product_id FOR UPDATE, one statement),
 * before any reservation row is written, so that concurrent batches cannot deadlock: reservation
 * rows are only read without locks, and written after the product rows in the same transaction.
 */
@Injectable()
export class InventoryService {
  private readonly logger = new Logger(InventoryService.name);

  constructor(
    private readonly outbox: OutboxService,
    private readonly simulator: InventorySimulator,
  ) {}

  handle(message: InventoryCommand, tx: EntityManager): Promise<void> {
    return this.handleMany([message], tx);
  }

  /** Commands of one partition, in offset order, in one transaction (see the class comment). */
  async handleMany(messages: InventoryCommand[], tx: EntityManager): Promise<void> {
    if (!messages.length) return;
    // Drawn first and always, one per command in order, so a seeded run makes the same choices.
    const decisions = messages.map((m): InventoryDecision =>
      m.eventType === 'ReserveStock' ? this.simulator.decide() : { outcome: 'available', delayMs: this.simulator.latency() },
    );
    const finishing = messages.some((m) => m.eventType !== 'ReserveStock');
    const wantedIds = [...new Set(messages.flatMap((m) => (m.eventType === 'ReserveStock' ? m.payload.items.map((i) => i.productId) : [])))].sort();
    const orderIds = [...new Set(messages.map((m) => m.orderId))];

    // Read round trip: the orders' reservation lines (a plain read, no locks) and, unless a release
    // or commit must first tell which products it holds, the wanted products, locked in productId order.
    const read = new SqlBatch();
    const reservationsAt = read.add(
      `SELECT r.id, r.order_id, r.product_id, r.quantity, r.unit_price, r.status, p.currency
         FROM stock_reservations r LEFT JOIN products p ON p.product_id = r.product_id
        WHERE r.order_id IN (${placeholders(orderIds)}) ORDER BY r.id`,
      orderIds,
    );
    const compensatedAt = compensatedOrders.select(read, 'inventory', orderIds);
    const productsAt = !finishing && wantedIds.length ? read.add(lockProducts(wantedIds), wantedIds) : -1;
    const results = await read.run(tx);
    const state = new BatchState(results[reservationsAt] as ReservationRow[], compensatedOrders.ids(results[compensatedAt]));

    let products: Map<string, ProductRow> | null = null;
    if (productsAt >= 0) products = productMap(results[productsAt]);
    else if (finishing && wantedIds.length) {
      // Lock round trip: everything the batch touches, wanted or held, in one statement, in productId order.
      const ids = [...new Set([...wantedIds, ...state.heldProductIds(messages.filter((m) => m.eventType !== 'ReserveStock').map((m) => m.orderId))])].sort();
      products = productMap(await tx.query(lockProducts(ids), ids));
    }

    const now = new Date();
    messages.forEach((message, i) => {
      correlation.run(messageTrace(message), () => {
        switch (message.eventType) {
          case 'ReserveStock':
            return this.reserve(message, decisions[i], state, products ?? new Map());
          case 'ReleaseStock':
            return this.finish(message, decisions[i].delayMs, state, products, 'RELEASED');
          case 'CommitStock':
            return this.finish(message, decisions[i].delayMs, state, products, 'COMMITTED');
          default:
            return assertUnreachable(message, 'inventory command');
        }
      });
    });
    await this.write(tx, state, now, !products);
  }

  /** Decides one ReserveStock against `state` and `products` (both updated to match) and stages its replies. */
  private reserve(message: TypedEnvelope<'ReserveStock'>, decision: InventoryDecision, state: BatchState, products: Map<string, ProductRow>): void {
    const { orderId } = message;
    const trace = causedBy(message);
    const wanted = mergeLines(message.payload.items);
    const existing = state.linesOf(orderId);
    const messages: Envelope[] = [];
    try {
      if (state.compensated.has(orderId)) {
        throw new InventoryException(InventoryErrorCode.ORDER_CLOSED, 'this order was released already; it cannot be reserved again');
      }
      if (existing.length) {
        if (existing.some((r) => r.status === 'RELEASED')) {
          throw new InventoryException(InventoryErrorCode.ORDER_CLOSED, 'the reservation of this order was released; it cannot be reserved again');
        }
        // A retry of a reservation that went through: same answer, nothing more reserved.
        const lines: PricedLine[] = existing.map((r) => ({ productId: r.productId, quantity: r.quantity, unitPrice: r.unitPrice }));
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

        const lines: PricedLine[] = wanted.map((l) => ({ ...l, unitPrice: Number(products.get(l.productId)!.unit_price) }));
        for (const line of lines) {
          const product = products.get(line.productId)!;
          product.stock_reserved += line.quantity;
          state.addStock(line.productId, line.quantity, 0);
          // One row per line, in the order of the command (the ids give a retry the same order).
          state.insert(orderId, { productId: line.productId, quantity: line.quantity, unitPrice: line.unitPrice, status: 'RESERVED', currency: product.currency });
        }
        const currency = products.get(wanted[0].productId)!.currency;
        const total = lineTotal(lines);
        this.logger.log(`order ${orderId}: reserved ${lines.length} line(s), total ${total} ${currency}, answering in ${decision.delayMs} ms`);
        messages.push(newEnvelope('StockReservationConfirmed', orderId, { items: lines, total, currency }, trace), newEnvelope('StockReserved', orderId, { items: wanted }, trace));
      }
    } catch (err) {
      if (!(err instanceof InventoryException)) throw err;
      // Nothing is staged for a rejection but the reply.
      this.logger.log(`order ${orderId}: reservation rejected (${err.message})`);
      messages.push(newEnvelope('StockReservationRejected', orderId, err.toRejection(), trace));
    }
    state.send(messages, decision.delayMs);
  }

  /**
   * Release (saga compensation, replies) or commit (the order shipped, no reply) what the order
   * holds; `products` (when locked) and `state` are updated to match.
   */
  private finish(
    message: TypedEnvelope<'ReleaseStock' | 'CommitStock'>,
    delayMs: number,
    state: BatchState,
    products: Map<string, ProductRow> | null,
    to: 'RELEASED' | 'COMMITTED',
  ): void {
    const { orderId } = message;
    const trace = causedBy(message);
    const held = state
      .linesOf(orderId)
      .filter((r) => r.status === 'RESERVED')
      .sort(byProductId);
    const guarded: ReservationLine[] = [];
    for (const r of held) {
      r.status = to;
      const product = products?.get(r.productId);
      if (product) {
        product.stock_reserved -= r.quantity;
        if (to === 'COMMITTED') product.stock_on_hand -= r.quantity;
      }
      state.addStock(r.productId, -r.quantity, to === 'COMMITTED' ? -r.quantity : 0, r.id === undefined ? undefined : { id: r.id, orderId });
      // A line reserved earlier in this batch is inserted with its final status; one read is updated, guarded.
      if (r.id !== undefined) guarded.push(r);
    }
    if (guarded.length) state.guard(orderId, to, guarded);

    const items = held.map((r) => ({ productId: r.productId, quantity: r.quantity }));
    const messages: Envelope[] = [];
    if (to === 'RELEASED') {
      // Remembered even when nothing was held, so a reservation that arrives later is refused.
      state.markCompensated(orderId);
      this.logger.log(held.length ? `order ${orderId}: released ${held.length} line(s)` : `order ${orderId}: nothing to release`);
      messages.push(newEnvelope('StockReleaseConfirmed', orderId, { released: held.length > 0 }, trace));
      if (held.length) messages.push(newEnvelope('StockReleased', orderId, { items }, trace));
    } else if (held.length) {
      this.logger.log(`order ${orderId}: committed ${held.length} line(s)`);
      messages.push(newEnvelope('StockCommitted', orderId, { items }, trace));
    } else {
      this.logger.warn(`order ${orderId}: CommitStock found no reservation to commit`);
    }
    state.send(messages, delayMs);
  }

  /**
   * The write round trip: relative stock updates (one per product, in productId order; when no
   * product was locked before, a locking read in productId order goes first), the new reservation
   * lines, the status changes of lines read as RESERVED (guarded: a change since the read rolls
   * the batch back) and the outbox rows, in the order of the commands.
   */
  private async write(tx: EntityManager, state: BatchState, now: Date, lockFirst: boolean): Promise<void> {
    const write = new SqlBatch();
    const stock = [...state.stock].filter(([, d]) => d.reserved !== 0 || d.onHand !== 0).sort(([a], [b]) => compareIds(a, b));
    if (lockFirst && stock.length) {
      const ids = stock.map(([id]) => id);
      write.add(lockProducts(ids), ids);
    }
    const productUpdates = stock.map(([productId, d]) => ({
      productId,
      heldBy: d.heldBy,
      at: d.onHand
        ? write.add('UPDATE products SET stock_reserved = stock_reserved + ?, stock_on_hand = stock_on_hand + ? WHERE product_id = ?', [d.reserved, d.onHand, productId])
        : write.add('UPDATE products SET stock_reserved = stock_reserved + ? WHERE product_id = ?', [d.reserved, productId]),
    }));
    compensatedOrders.record(write, 'inventory', state.newlyCompensated, now);
    if (state.inserts.length) {
      write.addRows(
        'INSERT INTO stock_reservations (order_id, product_id, quantity, unit_price, status, created_at, updated_at)',
        state.inserts.map(({ orderId, line }) => [orderId, line.productId, line.quantity, line.unitPrice, line.status, now, now]),
      );
    }
    const guards = state.guards.map((g) => ({
      ...g,
      at: write.add(`UPDATE stock_reservations SET status = ?, updated_at = ? WHERE id IN (${placeholders(g.lines)}) AND status = 'RESERVED'`, [
        g.to,
        now,
        ...g.lines.map((r) => r.id),
      ]),
    }));
    this.outbox.stageEach(write, state.outgoing);
    if (!write.size) return;
    const results = await write.run(tx);

    // Any surprise rolls the whole transaction back (the batch runs again one command at a time).
    for (const u of productUpdates) {
      if (affectedRows(results[u.at]) !== 1) {
        const by = u.heldBy ? `reservation ${u.heldBy.id} of order ${u.heldBy.orderId} names product` : 'product';
        throw new Error(`${by} ${u.productId}, which no longer exists`);
      }
    }
    for (const g of guards) {
      const n = affectedRows(results[g.at]);
      if (n !== g.lines.length) {
        throw new Error(`order ${g.orderId}: ${g.lines.length} reservation line(s) were RESERVED when read, but only ${n} when ${g.to}; rolling back`);
      }
    }
  }
}

/** One reservation line as the batch sees it; `id` is undefined for a line inserted by this batch. */
interface ReservationLine {
  id?: number | string;
  productId: string;
  quantity: number;
  unitPrice: number;
  status: ReservationStatus;
  /** The catalogue currency of the product (null if it is gone). */
  currency: string | null;
}

/** The reservations of a batch's orders and everything the batch will write, kept current as it is decided. */
class BatchState {
  private readonly lines = new Map<string, ReservationLine[]>();
  /** Net stock change per product; `heldBy` names a line read from the database that touches it. */
  readonly stock = new Map<string, { reserved: number; onHand: number; heldBy?: { id: number | string; orderId: string } }>();
  readonly inserts: Array<{ orderId: string; line: ReservationLine }> = [];
  readonly guards: Array<{ orderId: string; to: 'RELEASED' | 'COMMITTED'; lines: ReservationLine[] }> = [];
  /** Outbox rows in command order, each command's with its own delay (staged in one INSERT). */
  readonly outgoing: OutgoingMessages[] = [];

  /** Orders this module released before (read) or in this batch: a reservation for them is refused. */
  readonly newlyCompensated: string[] = [];

  constructor(
    rows: ReservationRow[],
    readonly compensated: Set<string>,
  ) {
    for (const r of rows) {
      this.linesOf(r.order_id).push({ id: r.id, productId: r.product_id, quantity: r.quantity, unitPrice: Number(r.unit_price), status: r.status, currency: r.currency });
    }
  }

  linesOf(orderId: string): ReservationLine[] {
    let lines = this.lines.get(orderId);
    if (!lines) this.lines.set(orderId, (lines = []));
    return lines;
  }

  /** Products of the lines these orders hold (RESERVED), as read. */
  heldProductIds(orderIds: string[]): string[] {
    return orderIds.flatMap((o) =>
      this.linesOf(o)
        .filter((r) => r.status === 'RESERVED')
        .map((r) => r.productId),
    );
  }

  markCompensated(orderId: string): void {
    if (this.compensated.has(orderId)) return;
    this.compensated.add(orderId);
    this.newlyCompensated.push(orderId);
  }

  insert(orderId: string, line: ReservationLine): void {
    this.linesOf(orderId).push(line);
    this.inserts.push({ orderId, line });
  }

  addStock(productId: string, reserved: number, onHand: number, heldBy?: { id: number | string; orderId: string }): void {
    const d = this.stock.get(productId) ?? { reserved: 0, onHand: 0 };
    d.reserved += reserved;
    d.onHand += onHand;
    d.heldBy ??= heldBy;
    this.stock.set(productId, d);
  }

  guard(orderId: string, to: 'RELEASED' | 'COMMITTED', lines: ReservationLine[]): void {
    this.guards.push({ orderId, to, lines });
  }

  send(messages: Envelope[], delayMs: number): void {
    this.outgoing.push({ messages, delayMs });
  }
}

function lockProducts(ids: string[]): string {
  return `SELECT product_id, unit_price, currency, stock_on_hand, stock_reserved FROM products WHERE product_id IN (${placeholders(ids)}) ORDER BY product_id FOR UPDATE`;
}

function productMap(rows: unknown): Map<string, ProductRow> {
  return new Map((rows as ProductRow[]).map((p) => [p.product_id, p]));
}

function available(p: ProductRow): number {
  return p.stock_on_hand - p.stock_reserved;
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byProductId(a: { productId: string }, b: { productId: string }): number {
  return compareIds(a.productId, b.productId);
}
