import { Injectable } from '@nestjs/common';
import { newId } from '../../contracts/ids.js';
import type { EntityManager } from 'typeorm';
import { newEnvelope, type Envelope } from '../../contracts/envelope.js';
import type { Payloads } from '../../contracts/messages.js';
import type { ShipmentStatus } from '../../contracts/order-status.js';
import type { TypedEnvelope } from '../../platform/messaging/message-processor.service.js';
import { causedBy } from '../../platform/messaging/outbox.service.js';
import { orderIdsOf, type ByOrder } from '../common/read-by-order.js';
import { SystemBatchHandler } from '../common/system-batch-handler.js';
import { ShipmentRepository, type NewShipment, type Shipment, type ShippingWrites } from './shipment.repository.js';
import { ShippingErrorCode, ShippingException } from './shipping.exception.js';
import { newTrackingNumber, ShippingSimulator, type ShippingDecision } from './shipping.simulator.js';

/**
 * What reaches the service from `shipping-updates`: the saga's requests and cancellations. The topic
 * also carries this module's own `ShipmentStatusChanged` events, which the consumer passes over
 * without a transaction.
 */
export type ShippingMessage = TypedEnvelope<'ShipmentRequested' | 'CancelShipment'>;

const DAY_MS = 24 * 60 * 60 * 1000;

/** Shipments that can still be called off: a delivered one cannot. */
const CANCELLABLE: ReadonlySet<ShipmentStatus> = new Set(['PENDING', 'IN_TRANSIT']);

interface ShippingBatch {
  /** The simulated carrier's answer to each request (null for a cancellation). */
  decisions: Array<ShippingDecision | null>;
  state: ByOrder<Shipment>;
  writes: ShippingWrites;
}

export function shipmentView(s: Pick<Shipment, 'id' | 'carrier' | 'trackingNumber' | 'estimatedDelivery' | 'status'>): Payloads['ShipmentCreated'] {
  return { shipmentId: s.id, carrier: s.carrier, trackingNumber: s.trackingNumber, estimatedDelivery: s.estimatedDelivery.toISOString(), status: s.status };
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
export class ShippingService extends SystemBatchHandler<ShippingMessage, ShippingBatch> {
  constructor(
    private readonly shipments: ShipmentRepository,
    private readonly simulator: ShippingSimulator,
  ) {
    super();
  }

  /** The orders' shipments: a plain read for requests, locked for cancellations (see ShipmentRepository). */
  protected async read(messages: ShippingMessage[], tx: EntityManager): Promise<ShippingBatch> {
    // Drawn first and always, one per message in order, so a seeded run makes the same choices.
    const decisions = messages.map((m) => (m.eventType === 'ShipmentRequested' ? this.simulator.decide() : null));
    const state = await this.shipments.read(tx, { forward: orderIdsOf(messages, 'ShipmentRequested'), compensating: orderIdsOf(messages, 'CancelShipment') });
    return { decisions, state, writes: { inserts: new Map(), cancels: [], compensated: [], outgoing: [] } };
  }

  protected decide(message: ShippingMessage, index: number, { decisions, state, writes }: ShippingBatch, now: Date): void {
    if (message.eventType === 'CancelShipment') return this.cancel(message, state, writes, now);
    const decision = decisions[index]!;
    writes.outgoing.push({ messages: this.request(message, decision, state, writes.inserts, now), delayMs: decision.delayMs });
  }

  protected write({ writes }: ShippingBatch, tx: EntityManager, now: Date): Promise<void> {
    return this.shipments.write(tx, writes, now);
  }

  /** Calls off the order's shipment if it has one that is not delivered, and remembers the order. */
  private cancel(message: TypedEnvelope<'CancelShipment'>, { rows, compensated }: ByOrder<Shipment>, writes: ShippingWrites, now: Date): void {
    const { orderId } = message;
    const trace = causedBy(message);
    if (!compensated.has(orderId)) {
      compensated.add(orderId);
      writes.compensated.push(orderId);
    }
    const shipment = rows.get(orderId);
    const messages: Envelope[] = [];
    if (shipment && CANCELLABLE.has(shipment.status)) {
      const inserted = writes.inserts.get(orderId);
      if (inserted) inserted.status = 'CANCELLED';
      else writes.cancels.push({ shipmentId: shipment.id, orderId });
      shipment.status = 'CANCELLED';
      this.logger.log(`order ${orderId}: shipment ${shipment.id} (${shipment.trackingNumber}) cancelled`);
      messages.push(
        newEnvelope('ShipmentCancelled', orderId, { shipmentId: shipment.id, cancelled: true }, trace),
        newEnvelope('ShipmentStatusChanged', orderId, shipmentView(shipment), trace, now),
      );
    } else {
      if (shipment?.status === 'DELIVERED') this.logger.error(`order ${orderId}: shipment ${shipment.id} was delivered already and cannot be cancelled`);
      else this.logger.log(`order ${orderId}: nothing to cancel${shipment ? ` (${shipment.id} is ${shipment.status})` : ''}`);
      messages.push(newEnvelope('ShipmentCancelled', orderId, { shipmentId: shipment?.id ?? null, cancelled: false }, trace));
    }
    writes.outgoing.push({ messages, delayMs: 0 });
  }

  /** Decides one request against the batch's shipments (updated to match); returns the messages it sends. */
  private request(
    message: TypedEnvelope<'ShipmentRequested'>,
    decision: ShippingDecision,
    { rows, compensated }: ByOrder<Shipment>,
    inserts: Map<string, NewShipment>,
    now: Date,
  ): Envelope[] {
    const { orderId } = message;
    const trace = causedBy(message);
    if (compensated.has(orderId)) {
      return this.refuse(message, 'refused', new ShippingException(ShippingErrorCode.ORDER_CLOSED, 'this order was cancelled already; it cannot be shipped'));
    }
    const existing = rows.get(orderId);
    if (existing) {
      this.logger.log(`order ${orderId} already has shipment ${existing.id} (${existing.trackingNumber}); answering the same`);
      return [newEnvelope('ShipmentCreated', orderId, shipmentView(existing), trace)];
    }
    if (decision.outcome === 'reject') {
      return this.refuse(message, 'rejected', new ShippingException(ShippingErrorCode.CARRIER_REJECTED, `${decision.carrier} refused the shipment (simulated)`));
    }
    const shipment = this.newShipment(message, decision, now);
    inserts.set(orderId, shipment);
    // A copy: a cancellation later in the batch changes the one it knows and the insert separately.
    rows.set(orderId, { ...shipment });
    const view = shipmentView(shipment);
    this.logger.log(`order ${orderId}: shipment ${shipment.id} with ${shipment.carrier}, tracking ${shipment.trackingNumber}, answering in ${decision.delayMs} ms`);
    return [newEnvelope('ShipmentCreated', orderId, view, trace), newEnvelope('ShipmentStatusChanged', orderId, view, trace)];
  }

  private refuse(message: TypedEnvelope<'ShipmentRequested'>, how: 'refused' | 'rejected', refusal: ShippingException): Envelope[] {
    this.logger.log(`order ${message.orderId}: shipment ${how} (${refusal.message})`);
    return [newEnvelope('ShipmentRejected', message.orderId, refusal.toRejection(), causedBy(message))];
  }

  private newShipment(message: TypedEnvelope<'ShipmentRequested'>, decision: ShippingDecision, now: Date): NewShipment {
    return {
      id: newId(),
      orderId: message.orderId,
      correlationId: message.correlationId,
      carrier: decision.carrier,
      trackingNumber: newTrackingNumber(),
      status: 'IN_TRANSIT',
      estimatedDelivery: new Date(now.getTime() + decision.deliveryDays * DAY_MS),
      // Counted from when the answer leaves, so DELIVERED never comes before ShipmentCreated.
      deliverAfter: new Date(now.getTime() + decision.delayMs + this.simulator.behaviour.deliveryDelayMs),
    };
  }
}
