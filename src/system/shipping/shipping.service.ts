import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { newEnvelope, type Envelope } from '../../contracts/envelope.js';
import type { Payloads } from '../../contracts/messages.js';
import type { ShipmentStatus } from '../../contracts/order-status.js';
import { placeholders, SqlBatch } from '../../platform/database/sql-batch.js';
import type { TypedEnvelope } from '../../platform/messaging/message-processor.service.js';
import { causedBy, OutboxService, type OutgoingMessages } from '../../platform/messaging/outbox.service.js';
import { correlation, messageTrace } from '../../platform/observability/correlation.js';
import type { ShipmentEntity } from './shipment.entity.js';
import { ShippingErrorCode, ShippingException } from './shipping.exception.js';
import { newTrackingNumber, ShippingSimulator, type ShippingDecision } from './shipping.simulator.js';

/**
 * What reaches the service from `shipping-updates`. The topic also carries this module's own
 * `ShipmentStatusChanged` events, which the consumer passes over without a transaction.
 */
export type ShippingMessage = TypedEnvelope<'ShipmentRequested'>;

const DAY_MS = 24 * 60 * 60 * 1000;

/** The shipment row as read back (DATETIME columns come back as Dates). */
interface ShipmentRow {
  id: string;
  order_id: string;
  carrier: string;
  tracking_number: string;
  status: ShipmentStatus;
  estimated_delivery: Date;
}

export function shipmentView(s: Pick<ShipmentEntity, 'id' | 'carrier' | 'trackingNumber' | 'estimatedDelivery' | 'status'>): Payloads['ShipmentCreated'] {
  return { shipmentId: s.id, carrier: s.carrier, trackingNumber: s.trackingNumber, estimatedDelivery: s.estimatedDelivery.toISOString(), status: s.status };
}

/**
 * The carriers: one shipment per order (`shipments.order_id` is unique) with carrier, tracking
 * number and estimated delivery. Works in the caller's transaction and stages its messages in the
 * outbox, delayed by the simulated latency; the delivery scheduler later marks shipments DELIVERED.
 *
 * A batch of requests (one request is a batch of one) costs one read round trip (the orders'
 * shipments) and at most one write round trip (the new shipments in one INSERT, and the messages).
 * Each request is decided in order against the shipments the requests before it left, so a
 * retried request in the same batch as the first answers with the first's shipment.
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

  /** Requests of one partition, in offset order, in one transaction (see the class comment). */
  async handleMany(messages: ShippingMessage[], tx: EntityManager): Promise<void> {
    if (!messages.length) return;
    // Drawn first and always, one per request in order, so a seeded run makes the same choices.
    const decisions = messages.map(() => this.simulator.decide());
    // A plain read: one order's messages come one at a time (one partition); a concurrent insert
    // would hit the unique key, roll back, and be answered from the existing row on its retry.
    const orderIds = [...new Set(messages.map((m) => m.orderId))];
    const rows: ShipmentRow[] = await tx.query(
      `SELECT id, order_id, carrier, tracking_number, status, estimated_delivery FROM shipments WHERE order_id IN (${placeholders(orderIds)})`,
      orderIds,
    );
    const shipments = new Map(rows.map((r) => [r.order_id, r]));

    const inserts: unknown[][] = [];
    const outgoing: OutgoingMessages[] = [];
    const now = new Date();
    messages.forEach((message, i) => {
      correlation.run(messageTrace(message), () => {
        outgoing.push({ messages: this.decide(message, decisions[i], shipments, inserts, now), delayMs: decisions[i].delayMs });
      });
    });

    const write = new SqlBatch();
    if (inserts.length) {
      write.addRows('INSERT INTO shipments (id, order_id, correlation_id, carrier, tracking_number, status, estimated_delivery, deliver_after, created_at, updated_at)', inserts);
    }
    this.outbox.stageEach(write, outgoing);
    if (write.size) await write.run(tx);
  }

  /** Decides one request against `shipments` (updated to match); returns the messages it sends. */
  private decide(message: ShippingMessage, decision: ShippingDecision, shipments: Map<string, ShipmentRow>, inserts: unknown[][], now: Date): Envelope[] {
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
    inserts.push([
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
