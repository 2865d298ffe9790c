import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { newEnvelope, type Envelope } from '../../contracts/envelope.js';
import type { Payloads } from '../../contracts/messages.js';
import type { ShipmentStatus } from '../../contracts/order-status.js';
import { SqlBatch } from '../../platform/database/sql-batch.js';
import type { TypedEnvelope } from '../../platform/messaging/message-processor.service.js';
import { causedBy, OutboxService } from '../../platform/messaging/outbox.service.js';
import type { ShipmentEntity } from './shipment.entity.js';
import { ShippingErrorCode, ShippingException } from './shipping.exception.js';
import { newTrackingNumber, ShippingSimulator } from './shipping.simulator.js';

/**
 * What reaches the service from `shipping-updates`. The topic also carries this module's own
 * `ShipmentStatusChanged` events, which the consumer passes over without a transaction.
 */
export type ShippingMessage = TypedEnvelope<'ShipmentRequested'>;

const DAY_MS = 24 * 60 * 60 * 1000;

/** The shipment row as read back (DATETIME columns come back as Dates). */
interface ShipmentRow {
  id: string;
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
 */
@Injectable()
export class ShippingService {
  private readonly logger = new Logger(ShippingService.name);

  constructor(
    private readonly outbox: OutboxService,
    private readonly simulator: ShippingSimulator,
  ) {}

  /** One read round trip (the order's shipment), one write (the new shipment and its messages). */
  async handle(message: ShippingMessage, tx: EntityManager): Promise<void> {
    const { orderId } = message;
    const trace = causedBy(message);
    // Drawn first and always, so a seeded run makes the same choices for the same commands.
    const decision = this.simulator.decide();
    const delay = { delayMs: decision.delayMs };
    const write = new SqlBatch();
    const messages: Envelope[] = [];
    try {
      // A plain read: one order's messages come one at a time (one partition); a concurrent insert
      // would hit the unique key, roll back, and be answered from this branch on its retry.
      const [existing]: Array<ShipmentRow | undefined> = await tx.query('SELECT id, carrier, tracking_number, status, estimated_delivery FROM shipments WHERE order_id = ?', [
        orderId,
      ]);
      if (existing) {
        this.logger.log(`order ${orderId} already has shipment ${existing.id} (${existing.tracking_number}); answering the same`);
        const view = shipmentView({
          id: existing.id,
          carrier: existing.carrier,
          trackingNumber: existing.tracking_number,
          status: existing.status,
          estimatedDelivery: new Date(existing.estimated_delivery),
        });
        messages.push(newEnvelope('ShipmentCreated', orderId, view, trace));
      } else {
        if (decision.outcome === 'reject') throw new ShippingException(ShippingErrorCode.CARRIER_REJECTED, `${decision.carrier} refused the shipment (simulated)`);

        const now = new Date();
        const shipment = {
          id: randomUUID(),
          carrier: decision.carrier,
          trackingNumber: newTrackingNumber(),
          status: 'IN_TRANSIT' as const,
          estimatedDelivery: new Date(now.getTime() + decision.deliveryDays * DAY_MS),
          // Counted from when the answer leaves, so DELIVERED never comes before ShipmentCreated.
          deliverAfter: new Date(now.getTime() + decision.delayMs + this.simulator.behaviour.deliveryDelayMs),
        };
        write.add(
          `INSERT INTO shipments (id, order_id, correlation_id, carrier, tracking_number, status, estimated_delivery, deliver_after, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [shipment.id, orderId, message.correlationId, shipment.carrier, shipment.trackingNumber, shipment.status, shipment.estimatedDelivery, shipment.deliverAfter, now, now],
        );
        const view = shipmentView(shipment);
        this.logger.log(`order ${orderId}: shipment ${shipment.id} with ${shipment.carrier}, tracking ${shipment.trackingNumber}, answering in ${decision.delayMs} ms`);
        messages.push(newEnvelope('ShipmentCreated', orderId, view, trace), newEnvelope('ShipmentStatusChanged', orderId, view, trace));
      }
    } catch (err) {
      if (!(err instanceof ShippingException)) throw err;
      this.logger.log(`order ${orderId}: shipment rejected (${err.message})`);
      messages.push(newEnvelope('ShipmentRejected', orderId, err.toRejection(), trace));
    }
    this.outbox.stage(write, messages, delay);
    await write.run(tx);
  }
}
