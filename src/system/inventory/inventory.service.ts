import { Injectable, Logger } from '@nestjs/common';
import { In, type EntityManager } from 'typeorm';
import type { OrderLine, PricedLine } from '../../contracts/messages.js';
import type { TypedEnvelope } from '../../platform/messaging/message-processor.service.js';
import { OutboxService, type Trace } from '../../platform/messaging/outbox.service.js';
import { assertUnreachable } from '../shared/assert-unreachable.js';
import { lineTotal } from '../shared/decimal.transformer.js';
import { InventoryErrorCode, InventoryException } from './inventory.exception.js';
import { InventorySimulator } from './inventory.simulator.js';
import { ProductEntity } from './product.entity.js';
import { StockReservationEntity, type ReservationStatus } from './stock-reservation.entity.js';

export type InventoryCommand = TypedEnvelope<'ReserveStock' | 'ReleaseStock' | 'CommitStock'>;

/** Lines of one product merged, in the order the products first appear. */
export function mergeLines(items: readonly OrderLine[]): OrderLine[] {
  const merged = new Map<string, number>();
  for (const { productId, quantity } of items) merged.set(productId, (merged.get(productId) ?? 0) + quantity);
  return [...merged].map(([productId, quantity]) => ({ productId, quantity }));
}

/**
 * The inventory system: real stock in `products`, one reservation row per order and product.
 * Every method works in the caller's transaction (the message processor's, with its inbox row) and
 * stages its messages in the outbox, delayed by the simulated latency; it never waits.
 * Product rows are always locked in productId order, before any reservation row, so that
 * concurrent orders cannot deadlock.
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

  private async reserve(message: TypedEnvelope<'ReserveStock'>, tx: EntityManager): Promise<void> {
    const { orderId } = message;
    const trace = traceOf(message);
    // Drawn first and always, so a seeded run makes the same choices for the same commands.
    const decision = this.simulator.decide();
    const delay = { delayMs: decision.delayMs };
    try {
      const existing = await tx.find(StockReservationEntity, { where: { orderId }, order: { id: 'ASC' } });
      if (existing.length) {
        if (existing.some((r) => r.status === 'RELEASED')) {
          throw new InventoryException(InventoryErrorCode.ORDER_CLOSED, 'the reservation of this order was released; it cannot be reserved again');
        }
        // A retry of a reservation that went through: same answer, nothing more reserved.
        const lines: PricedLine[] = existing.map((r) => ({ productId: r.productId, quantity: r.quantity, unitPrice: r.unitPrice }));
        const currency = await this.catalogueCurrency(tx, lines, message.payload.currency);
        this.logger.log(`order ${orderId} already holds its reservation; confirming again`);
        await this.outbox.enqueue(tx, 'StockReservationConfirmed', orderId, { items: lines, total: lineTotal(lines), currency }, trace, delay);
        return;
      }

      const wanted = mergeLines(message.payload.items);
      const products = await this.lockProducts(
        tx,
        wanted.map((l) => l.productId),
      );
      const unknown = wanted.filter((l) => !products.has(l.productId)).map((l) => l.productId);
      if (unknown.length) throw new InventoryException(InventoryErrorCode.UNKNOWN_PRODUCT, `unknown product(s): ${unknown.join(', ')}`);
      const short = wanted.filter((l) => available(products.get(l.productId)!) < l.quantity);
      if (short.length) {
        const detail = short.map((l) => `${l.productId} wanted ${l.quantity}, available ${available(products.get(l.productId)!)}`).join('; ');
        throw new InventoryException(InventoryErrorCode.OUT_OF_STOCK, detail);
      }
      if (decision.outcome === 'unavailable') throw new InventoryException(InventoryErrorCode.UNAVAILABLE, 'simulated inventory outage');

      const now = new Date();
      for (const line of [...wanted].sort(byProductId)) {
        const product = products.get(line.productId)!;
        await tx.update(ProductEntity, { productId: line.productId }, { stockReserved: product.stockReserved + line.quantity });
      }
      const lines: PricedLine[] = wanted.map((l) => ({ ...l, unitPrice: products.get(l.productId)!.unitPrice }));
      await tx.insert(
        StockReservationEntity,
        lines.map((l) => ({ orderId, productId: l.productId, quantity: l.quantity, unitPrice: l.unitPrice, status: 'RESERVED' as const, createdAt: now, updatedAt: now })),
      );
      const currency = products.get(wanted[0].productId)!.currency;
      const total = lineTotal(lines);
      this.logger.log(`order ${orderId}: reserved ${lines.length} line(s), total ${total} ${currency}, answering in ${decision.delayMs} ms`);
      await this.outbox.enqueue(tx, 'StockReservationConfirmed', orderId, { items: lines, total, currency }, trace, delay);
      await this.outbox.enqueue(tx, 'StockReserved', orderId, { items: wanted }, trace, delay);
    } catch (err) {
      if (!(err instanceof InventoryException)) throw err;
      // Nothing was written before a rejection: the reply is the only effect.
      this.logger.log(`order ${orderId}: reservation rejected (${err.message})`);
      await this.outbox.enqueue(tx, 'StockReservationRejected', orderId, err.toRejection(), trace, delay);
    }
  }

  /** Release (saga compensation, replies) or commit (the order shipped, no reply) what the order holds. */
  private async finish(message: TypedEnvelope<'ReleaseStock' | 'CommitStock'>, tx: EntityManager, to: 'RELEASED' | 'COMMITTED'): Promise<void> {
    const { orderId } = message;
    const trace = traceOf(message);
    const delay = { delayMs: this.simulator.latency() };
    const held = await tx.find(StockReservationEntity, { where: { orderId, status: 'RESERVED' satisfies ReservationStatus }, order: { productId: 'ASC' } });
    if (held.length) {
      const products = await this.lockProducts(
        tx,
        held.map((r) => r.productId),
      );
      const now = new Date();
      for (const r of held) {
        const p = products.get(r.productId);
        if (!p) throw new Error(`reservation ${r.id} of order ${orderId} names product ${r.productId}, which no longer exists`);
        const change =
          to === 'COMMITTED' ? { stockReserved: p.stockReserved - r.quantity, stockOnHand: p.stockOnHand - r.quantity } : { stockReserved: p.stockReserved - r.quantity };
        await tx.update(ProductEntity, { productId: r.productId }, change);
      }
      await tx.update(StockReservationEntity, { id: In(held.map((r) => r.id)), status: 'RESERVED' }, { status: to, updatedAt: now });
    }
    const items = held.map((r) => ({ productId: r.productId, quantity: r.quantity }));
    if (to === 'RELEASED') {
      this.logger.log(held.length ? `order ${orderId}: released ${held.length} line(s)` : `order ${orderId}: nothing to release`);
      await this.outbox.enqueue(tx, 'StockReleaseConfirmed', orderId, { released: held.length > 0 }, trace, delay);
      if (held.length) await this.outbox.enqueue(tx, 'StockReleased', orderId, { items }, trace, delay);
    } else if (held.length) {
      this.logger.log(`order ${orderId}: committed ${held.length} line(s)`);
      await this.outbox.enqueue(tx, 'StockCommitted', orderId, { items }, trace, delay);
    } else {
      this.logger.warn(`order ${orderId}: CommitStock found no reservation to commit`);
    }
  }

  /** `SELECT … FOR UPDATE` in productId order (the one lock order everywhere in this module). */
  private async lockProducts(tx: EntityManager, productIds: string[]): Promise<Map<string, ProductEntity>> {
    const rows = await tx.find(ProductEntity, { where: { productId: In([...new Set(productIds)]) }, order: { productId: 'ASC' }, lock: { mode: 'pessimistic_write' } });
    return new Map(rows.map((p) => [p.productId, p]));
  }

  private async catalogueCurrency(tx: EntityManager, lines: readonly OrderLine[], fallback: string): Promise<string> {
    const product = await tx.findOne(ProductEntity, { where: { productId: lines[0].productId } });
    return product?.currency ?? fallback;
  }
}

function available(p: ProductEntity): number {
  return p.stockOnHand - p.stockReserved;
}

function byProductId(a: OrderLine, b: OrderLine): number {
  return a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0;
}

function traceOf(message: { correlationId: string; eventId: string }): Trace {
  return { correlationId: message.correlationId, causationId: message.eventId };
}
