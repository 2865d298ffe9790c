import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { newEnvelope, type Envelope } from '../../contracts/envelope.js';
import type { OrderLine, PricedLine } from '../../contracts/messages.js';
import type { TypedEnvelope } from '../../platform/messaging/message-processor.service.js';
import { causedBy, type OutgoingMessages } from '../../platform/messaging/outbox.service.js';
import { assertUnreachable } from '../../common/assert-unreachable.js';
import { lineTotal } from '../common/money.js';
import { SystemBatchHandler } from '../common/system-batch-handler.js';
import { InventoryErrorCode, InventoryException } from './inventory.exception.js';
import { InventoryRepository, type InventoryWrites, type ReservationLine, type Stock, type StockChange } from './inventory.repository.js';
import { InventorySimulator, type InventoryDecision } from './inventory.simulator.js';

export type InventoryCommand = TypedEnvelope<'ReserveStock' | 'ReleaseStock' | 'CommitStock'>;

/** Lines of one product merged, in the order the products first appear. */
export function mergeLines(items: readonly OrderLine[]): OrderLine[] {
  const merged = new Map<string, number>();
  for (const { productId, quantity } of items) merged.set(productId, (merged.get(productId) ?? 0) + quantity);
  return [...merged].map(([productId, quantity]) => ({ productId, quantity }));
}

interface InventoryBatch {
  /** The simulated answer to each command (releases and commits cannot fail: a latency only). */
  decisions: InventoryDecision[];
  state: BatchState;
  /** The products the batch touches, locked; null when none were locked before the write. */
  stock: Map<string, Stock> | null;
}

/**
 * The inventory system: real stock in `products`, one reservation row per order and product.
 * Every method works in the caller's transaction (the message processor's, with its inbox row) and
 * stages its messages in the outbox, delayed by the simulated latency; it never waits.
 *
 * A batch of commands (or one command, a batch of one) costs at most three round trips: a read of
 * the orders' reservations (a plain read, no locks) with, when nothing in the batch releases or
 * commits, the wanted products locked; when something does, a second round trip that locks every
 * product the batch touches; then one write round trip. Each command is decided in memory, in
 * order, against the stock and reservations the commands before it left. Product rows are always
 * locked in productId order before any reservation row is written, so that concurrent batches
 * cannot deadlock (see InventoryRepository).
 */
@Injectable()
export class InventoryService extends SystemBatchHandler<InventoryCommand, InventoryBatch> {
  constructor(
    private readonly inventory: InventoryRepository,
    private readonly simulator: InventorySimulator,
  ) {
    super();
  }

  /**
   * The read round trip and, when a release or commit must first tell which products it holds, the
   * lock round trip: everything the batch touches, wanted or held, in one statement.
   */
  protected async read(messages: InventoryCommand[], tx: EntityManager): Promise<InventoryBatch> {
    // Drawn first and always, one per command in order, so a seeded run makes the same choices.
    const decisions = messages.map((m): InventoryDecision =>
      m.eventType === 'ReserveStock' ? this.simulator.decide() : { outcome: 'available', delayMs: this.simulator.latency() },
    );
    const finishing = messages.some((m) => m.eventType !== 'ReserveStock');
    const wantedIds = [...new Set(messages.flatMap((m) => (m.eventType === 'ReserveStock' ? m.payload.items.map((i) => i.productId) : [])))].sort();
    const orderIds = [...new Set(messages.map((m) => m.orderId))];
    const read = await this.inventory.read(tx, orderIds, finishing ? null : wantedIds);
    const state = new BatchState(read.reservations, read.compensated);
    if (!finishing || !wantedIds.length) return { decisions, state, stock: read.stock };
    const held = state.heldProductIds(messages.filter((m) => m.eventType !== 'ReserveStock').map((m) => m.orderId));
    const ids = [...new Set([...wantedIds, ...held])].sort();
    return { decisions, state, stock: await this.inventory.lockStock(tx, ids) };
  }

  protected decide(message: InventoryCommand, index: number, { decisions, state, stock }: InventoryBatch): void {
    switch (message.eventType) {
      case 'ReserveStock':
        return this.reserve(message, decisions[index], state, stock ?? new Map());
      case 'ReleaseStock':
        return this.finish(message, decisions[index].delayMs, state, stock, 'RELEASED');
      case 'CommitStock':
        return this.finish(message, decisions[index].delayMs, state, stock, 'COMMITTED');
      default:
        return assertUnreachable(message, 'inventory command');
    }
  }

  protected write({ state, stock }: InventoryBatch, tx: EntityManager, now: Date): Promise<void> {
    // Without locked products, the write locks the rows it updates first.
    return this.inventory.write(tx, state, now, !stock);
  }

  /** Decides one ReserveStock against `state` and `stock` (both updated to match) and stages its replies. */
  private reserve(message: TypedEnvelope<'ReserveStock'>, decision: InventoryDecision, state: BatchState, stock: Map<string, Stock>): void {
    const { orderId } = message;
    let messages: Envelope[];
    try {
      messages = this.reserveOrAnswer(message, decision, state, stock);
    } catch (err) {
      if (!(err instanceof InventoryException)) throw err;
      // Nothing is staged for a rejection but the reply.
      this.logger.log(`order ${orderId}: reservation rejected (${err.message})`);
      messages = [newEnvelope('StockReservationRejected', orderId, err.toRejection(), causedBy(message))];
    }
    state.send(messages, decision.delayMs);
  }

  /** The replies to a reservation, first or retried; throws an InventoryException to refuse it. */
  private reserveOrAnswer(message: TypedEnvelope<'ReserveStock'>, decision: InventoryDecision, state: BatchState, stock: Map<string, Stock>): Envelope[] {
    const { orderId } = message;
    if (state.closed.has(orderId)) {
      throw new InventoryException(InventoryErrorCode.ORDER_CLOSED, 'this order was released already; it cannot be reserved again');
    }
    const existing = state.linesOf(orderId);
    if (!existing.length) return this.reserveNew(message, decision, state, stock);
    if (existing.some((r) => r.status === 'RELEASED')) {
      throw new InventoryException(InventoryErrorCode.ORDER_CLOSED, 'the reservation of this order was released; it cannot be reserved again');
    }
    // A retry of a reservation that went through: same answer, nothing more reserved.
    const lines: PricedLine[] = existing.map((r) => ({ productId: r.productId, quantity: r.quantity, unitPrice: r.unitPrice }));
    const currency = existing[0].currency ?? message.payload.currency;
    this.logger.log(`order ${orderId} already holds its reservation; confirming again`);
    return [newEnvelope('StockReservationConfirmed', orderId, { items: lines, total: lineTotal(lines), currency }, causedBy(message))];
  }

  private reserveNew(message: TypedEnvelope<'ReserveStock'>, decision: InventoryDecision, state: BatchState, stock: Map<string, Stock>): Envelope[] {
    const { orderId } = message;
    const wanted = mergeLines(message.payload.items);
    checkAvailable(wanted, stock);
    if (decision.outcome === 'unavailable') throw new InventoryException(InventoryErrorCode.UNAVAILABLE, 'simulated inventory outage');

    const lines: PricedLine[] = wanted.map((l) => ({ ...l, unitPrice: stock.get(l.productId)!.unitPrice }));
    for (const line of lines) {
      const product = stock.get(line.productId)!;
      product.reserved += line.quantity;
      state.addStock(line.productId, line.quantity, 0);
      // One row per line, in the order of the command (the ids give a retry the same order).
      state.insert({ orderId, productId: line.productId, quantity: line.quantity, unitPrice: line.unitPrice, status: 'RESERVED', currency: product.currency });
    }
    const currency = stock.get(wanted[0].productId)!.currency;
    const total = lineTotal(lines);
    const trace = causedBy(message);
    this.logger.log(`order ${orderId}: reserved ${lines.length} line(s), total ${total} ${currency}, answering in ${decision.delayMs} ms`);
    return [newEnvelope('StockReservationConfirmed', orderId, { items: lines, total, currency }, trace), newEnvelope('StockReserved', orderId, { items: wanted }, trace)];
  }

  /**
   * Release (saga compensation, replies) or commit (the order shipped, no reply) what the order
   * holds; `stock` (when locked) and `state` are updated to match.
   */
  private finish(message: TypedEnvelope<'ReleaseStock' | 'CommitStock'>, delayMs: number, state: BatchState, stock: Map<string, Stock> | null, to: 'RELEASED' | 'COMMITTED'): void {
    const { orderId } = message;
    const trace = causedBy(message);
    const held = state.finish(orderId, to, stock);
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
}

/** Throws when a wanted product is unknown or short of stock. */
function checkAvailable(wanted: OrderLine[], stock: Map<string, Stock>): void {
  const unknown = wanted.filter((l) => !stock.has(l.productId)).map((l) => l.productId);
  if (unknown.length) throw new InventoryException(InventoryErrorCode.UNKNOWN_PRODUCT, `unknown product(s): ${unknown.join(', ')}`);
  const short = wanted.filter((l) => available(stock.get(l.productId)!) < l.quantity);
  if (short.length) {
    const detail = short.map((l) => `${l.productId} wanted ${l.quantity}, available ${available(stock.get(l.productId)!)}`).join('; ');
    throw new InventoryException(InventoryErrorCode.OUT_OF_STOCK, detail);
  }
}

/** The reservations of a batch's orders and everything the batch will write, kept current as it is decided. */
class BatchState implements InventoryWrites {
  private readonly lines = new Map<string, ReservationLine[]>();
  readonly stock = new Map<string, StockChange>();
  readonly compensated: string[] = [];
  readonly inserts: ReservationLine[] = [];
  readonly statusChanges: InventoryWrites['statusChanges'] = [];
  /** Outbox rows in command order, each command's with its own delay (staged in one INSERT). */
  readonly outgoing: OutgoingMessages[] = [];

  constructor(
    lines: ReservationLine[],
    /** Orders this module released before (read) or in this batch: a reservation for them is refused. */
    readonly closed: Set<string>,
  ) {
    for (const line of lines) this.linesOf(line.orderId).push(line);
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
    if (this.closed.has(orderId)) return;
    this.closed.add(orderId);
    this.compensated.push(orderId);
  }

  insert(line: ReservationLine): void {
    this.linesOf(line.orderId).push(line);
    this.inserts.push(line);
  }

  addStock(productId: string, reserved: number, onHand: number, heldBy?: StockChange['heldBy']): void {
    const d = this.stock.get(productId) ?? { reserved: 0, onHand: 0 };
    d.reserved += reserved;
    d.onHand += onHand;
    d.heldBy ??= heldBy;
    this.stock.set(productId, d);
  }

  /** Moves what the order holds to `to`, with the stock to match; returns those lines in productId order. */
  finish(orderId: string, to: 'RELEASED' | 'COMMITTED', stock: Map<string, Stock> | null): ReservationLine[] {
    const held = this.linesOf(orderId)
      .filter((r) => r.status === 'RESERVED')
      .sort(byProductId);
    const read: ReservationLine[] = [];
    for (const r of held) {
      r.status = to;
      const product = stock?.get(r.productId);
      if (product) {
        product.reserved -= r.quantity;
        if (to === 'COMMITTED') product.onHand -= r.quantity;
      }
      this.addStock(r.productId, -r.quantity, to === 'COMMITTED' ? -r.quantity : 0, r.id === undefined ? undefined : { id: r.id, orderId });
      // A line reserved earlier in this batch is inserted with its final status; one read is updated, guarded.
      if (r.id !== undefined) read.push(r);
    }
    if (read.length) this.statusChanges.push({ orderId, to, lines: read });
    return held;
  }

  send(messages: Envelope[], delayMs: number): void {
    this.outgoing.push({ messages, delayMs });
  }
}

function available(p: Stock): number {
  return p.onHand - p.reserved;
}

function byProductId(a: { productId: string }, b: { productId: string }): number {
  return a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0;
}
