import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { newEnvelope, type Envelope } from '../../contracts/envelope.js';
import type { Payloads } from '../../contracts/messages.js';
import type { ShipmentStatus } from '../../contracts/order-status.js';
import { affectedRows, placeholders, SqlBatch } from '../../platform/database/sql-batch.js';
import type { TypedEnvelope } from '../../platform/messaging/message-processor.service.js';
import { causedBy, OutboxService, type OutgoingMessages } from '../../platform/messaging/outbox.service.js';
import { correlation, messageTrace } from '../../platform/observability/correlation.js';
import { compensatedOrders } from '../common/compensated-orders.js';
import type { ShipmentEntity } from './shipment.entity.js';
import { ShippingErrorCode, ShippingException } from './shipping.exception.js';
import { newTrackingNumber, ShippingSimulator, type ShippingDecision } from './shipping.simulator.js';

/**
 * What reaches the service from `shipping-updates`: the saga's requests and cancellations. The topic
 * also carries this module's own `ShipmentStatusChanged` events, which the consumer passes over
 * without a transaction.
 */
export type ShippingMessage = TypedEnvelope<'ShipmentRequested' | 'CancelShipment'>;

const DAY_MS = 24 * 60 * 60 * 1000;
/** Where the status sits in a row of the shipments INSERT (see `decide`). */
const INSERT_STATUS = 5;

/** The shipment row as read back (DATETIME columns come back as Dates). */
interface ShipmentRow {
  id: string;
  order_id: string;
  carrier: string;
  tracking_number: string;
  status: ShipmentStatus;
  estimated_delivery: Date;
}

const SELECT_SHIPMENTS = 'SELECT id, order_id, carrier, tracking_number, status, estimated_delivery FROM shipments';

/** Shipments that can still be called off: a delivered one cannot. */
const CANCELLABLE: ReadonlySet<ShipmentStatus> = new Set(['PENDING', 'IN_TRANSIT']);

export function shipmentView(s: Pick<ShipmentEntity, 'id' | 'carrier' | 'trackingNumber' | 'estimatedDelivery' | 'status'>): Payloads['ShipmentCreated'] {
  return { shipmentId: s.id, carrier: s.carrier, trackingNumber: s.trackingNumber, estimatedDelivery: s.estimatedDelivery.toISOString(), status: s.status };
}

/** What one batch writes, in the order its messages were decided. */
interface ShippingWrites {
  /** New shipments, by order id (a shipment cancelled later in the same batch is inserted CANCELLED). */
  inserts: Map<string, unknown[]>;
  /** Shipments read as cancellable and locked, to mark CANCELLED (guarded). */
  cancels: Array<{ shipmentId: string; orderId: string }>;
  /** Orders cancelled for the first time in this batch (remembered even without a shipment). */
  compensated: string[];
  outgoing: OutgoingMessages[];
}

/**
 * The carriers: one shipment per order (`shipments.order_id` is unique) with carrier, tracking
 * number and estimated delivery. Works in the caller's transaction and stages its messages in the
 * outbox, delayed by the simulated latency; the delivery scheduler later marks shipments DELIVERED.
 * A cancelled shipment (the saga gave up on its order) is never delivered, and a request for an order
 * cancelled before is refused.
 *
 * A batch (one message is a batch of one) costs one read round trip (the orders' shipments: a plain
 * read for requests, locked for cancellations; and which orders were cancelled before) and at most
 * one write round trip. Each message is decided in order against the shipments the messages before
 * it left, so a retried request in the same batch as the first answers with the first's shipment.
 */
@Injectable()
export class ShippingService {
  private readonly logger = new Logger(ShippingService.name);

  constructor(
    private readonly outbox: OutboxService,
    private readonly simulator: ShippingSimulator,
  ) {}

  handle(message: ShippingMessage, tx: EntityManager): Promise<void> {
    return this.handleMany([message], tx);
  }

  /** Messages of one partition, in offset order, in one transaction (see the class comment). */
  async handleMany(messages: ShippingMessage[], tx: EntityManager): Promise<void> {
    if (!messages.length) return;
    // Drawn first and always, one per message in order, so a seeded run makes the same choices.
    const decisions = messages.map((m) => (m.eventType === 'ShipmentRequested' ? this.simulator.decide() : null));
    const ids = (type: ShippingMessage['eventType']) => [...new Set(messages.filter((m) => m.eventType === type).map((m) => m.orderId))];
    const requested = ids('ShipmentRequested');
    const cancelled = ids('CancelShipment');
    // Requests read without locks: one order's messages come one at a time (one partition), and a
    // concurrent insert would hit the unique key, roll back, and be answered from the existing row on
    // its retry. Cancellations lock the rows they change (the delivery pass skips locked rows).
    const read = new SqlBatch();
    const compensatedAt = compensatedOrders.select(read, 'shipping', [...new Set(messages.map((m) => m.orderId))]);
    if (requested.length) read.add(`${SELECT_SHIPMENTS} WHERE order_id IN (${placeholders(requested)})`, requested);
    // Last, so that for an order in both lists the locked (latest) read wins.
    if (cancelled.length) read.add(`${SELECT_SHIPMENTS} WHERE order_id IN (${placeholders(cancelled)}) FOR UPDATE`, cancelled);
    const results = await read.run(tx);
    const rows = results.filter((_, i) => i !== compensatedAt) as ShipmentRow[][];
    const shipments = new Map(rows.flat().map((r) => [r.order_id, r]));
    const compensated = compensatedOrders.ids(results[compensatedAt]);

    const writes: ShippingWrites = { inserts: new Map(), cancels: [], compensated: [], outgoing: [] };
    const now = new Date();
    messages.forEach((message, i) => {
      correlation.run(messageTrace(message), () => {
        if (message.eventType === 'CancelShipment') return this.cancel(message, shipments, compensated, writes, now);
        const decision = decisions[i]!;
        if (compensated.has(message.orderId)) {
          const refusal = new ShippingException(ShippingErrorCode.ORDER_CLOSED, 'this order was cancelled already; it cannot be shipped');
          this.logger.log(`order ${message.orderId}: shipment refused (${refusal.message})`);
          writes.outgoing.push({ messages: [newEnvelope('ShipmentRejected', message.orderId, refusal.toRejection(), causedBy(message))], delayMs: decision.delayMs });
          return;
        }
        writes.outgoing.push({ messages: this.decide(message, decision, shipments, writes.inserts, now), delayMs: decision.delayMs });
      });
    });

    const write = new SqlBatch();
    compensatedOrders.record(write, 'shipping', writes.compensated, now);
    if (writes.inserts.size) {
      write.addRows('INSERT INTO shipments (id, order_id, correlation_id, carrier, tracking_number, status, estimated_delivery, deliver_after, created_at, updated_at)', [
        ...writes.inserts.values(),
      ]);
    }
    const guarded = writes.cancels.map((c) => ({
      ...c,
      at: write.add(`UPDATE shipments SET status = 'CANCELLED', updated_at = ? WHERE id = ? AND status IN ('PENDING', 'IN_TRANSIT')`, [now, c.shipmentId]),
    }));
    this.outbox.stageEach(write, writes.outgoing);
    if (!write.size) return;
    const written = await write.run(tx);
    // A read row is locked FOR UPDATE, so this cannot happen; if it does, the batch rolls back.
    for (const c of guarded) {
      if (affectedRows(written[c.at]) !== 1) throw new Error(`shipment ${c.shipmentId} of order ${c.orderId} left its status while locked`);
    }
  }

  /** Calls off the order's shipment if it has one that is not delivered, and remembers the order. */
  private cancel(message: TypedEnvelope<'CancelShipment'>, shipments: Map<string, ShipmentRow>, compensated: Set<string>, writes: ShippingWrites, now: Date): void {
    const { orderId } = message;
    const trace = causedBy(message);
    if (!compensated.has(orderId)) {
      compensated.add(orderId);
      writes.compensated.push(orderId);
    }
    const shipment = shipments.get(orderId);
    const messages: Envelope[] = [];
    if (shipment && CANCELLABLE.has(shipment.status)) {
      const inserted = writes.inserts.get(orderId);
      if (inserted) inserted[INSERT_STATUS] = 'CANCELLED';
      else writes.cancels.push({ shipmentId: shipment.id, orderId });
      shipment.status = 'CANCELLED';
      this.logger.log(`order ${orderId}: shipment ${shipment.id} (${shipment.tracking_number}) cancelled`);
      const view = shipmentView({
        id: shipment.id,
        carrier: shipment.carrier,
        trackingNumber: shipment.tracking_number,
        status: 'CANCELLED',
        estimatedDelivery: new Date(shipment.estimated_delivery),
      });
      messages.push(
        newEnvelope('ShipmentCancelled', orderId, { shipmentId: shipment.id, cancelled: true }, trace),
        newEnvelope('ShipmentStatusChanged', orderId, view, trace, now),
      );
    } else {
      if (shipment?.status === 'DELIVERED') this.logger.error(`order ${orderId}: shipment ${shipment.id} was delivered already and cannot be cancelled`);
      else this.logger.log(`order ${orderId}: nothing to cancel${shipment ? ` (${shipment.id} is ${shipment.status})` : ''}`);
      messages.push(newEnvelope('ShipmentCancelled', orderId, { shipmentId: shipment?.id ?? null, cancelled: false }, trace));
    }
    writes.outgoing.push({ messages, delayMs: 0 });
  }

  /** Decides one request against `shipments` (updated to match); returns the messages it sends. */
  private decide(
    message: TypedEnvelope<'ShipmentRequested'>,
    decision: ShippingDecision,
    shipments: Map<string, ShipmentRow>,
    inserts: Map<string, unknown[]>,
    now: Date,
  ): Envelope[] {
    const { orderId } = message;
    const trace = causedBy(message);
    const existing = shipments.get(orderId);
    if (existing) {
      this.logger.log(`order ${orderId} already has shipment ${existing.id} (${existing.tracking_number}); answering the same`);
      const view = shipmentView({
        id: existing.id,
        carrier: existing.carrier,
        trackingNumber: existing.tracking_number,
        status: existing.status,
        estimatedDelivery: new Date(existing.estimated_delivery),
      });
      return [newEnvelope('ShipmentCreated', orderId, view, trace)];
    }
    if (decision.outcome === 'reject') {
      const rejection = new ShippingException(ShippingErrorCode.CARRIER_REJECTED, `${decision.carrier} refused the shipment (simulated)`);
      this.logger.log(`order ${orderId}: shipment rejected (${rejection.message})`);
      return [newEnvelope('ShipmentRejected', orderId, rejection.toRejection(), trace)];
    }

    const shipment = {
      id: randomUUID(),
      carrier: decision.carrier,
      trackingNumber: newTrackingNumber(),
      status: 'IN_TRANSIT' as const,
      estimatedDelivery: new Date(now.getTime() + decision.deliveryDays * DAY_MS),
      // Counted from when the answer leaves, so DELIVERED never comes before ShipmentCreated.
      deliverAfter: new Date(now.getTime() + decision.delayMs + this.simulator.behaviour.deliveryDelayMs),
    };
    inserts.set(orderId, [
      shipment.id,
      orderId,
      message.correlationId,
      shipment.carrier,
      shipment.trackingNumber,
      shipment.status,
      shipment.estimatedDelivery,
      shipment.deliverAfter,
      now,
      now,
    ]);
    shipments.set(orderId, {
      id: shipment.id,
      order_id: orderId,
      carrier: shipment.carrier,
      tracking_number: shipment.trackingNumber,
      status: shipment.status,
      estimated_delivery: shipment.estimatedDelivery,
    });
    const view = shipmentView(shipment);
    this.logger.log(`order ${orderId}: shipment ${shipment.id} with ${shipment.carrier}, tracking ${shipment.trackingNumber}, answering in ${decision.delayMs} ms`);
    return [newEnvelope('ShipmentCreated', orderId, view, trace), newEnvelope('ShipmentStatusChanged', orderId, view, trace)];
  }
}
