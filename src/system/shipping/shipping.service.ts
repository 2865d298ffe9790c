import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { Payloads } from '../../contracts/messages.js';
import type { TypedEnvelope } from '../../platform/messaging/message-processor.service.js';
import { OutboxService, type Trace } from '../../platform/messaging/outbox.service.js';
import { assertUnreachable } from '../shared/assert-unreachable.js';
import { ShipmentEntity } from './shipment.entity.js';
import { ShippingErrorCode, ShippingException } from './shipping.exception.js';
import { newTrackingNumber, ShippingSimulator } from './shipping.simulator.js';

/** `shipping-updates` carries both the saga's requests and this module's own status events. */
export type ShippingMessage = TypedEnvelope<'ShipmentRequested' | 'ShipmentStatusChanged'>;

const DAY_MS = 24 * 60 * 60 * 1000;

export function shipmentView(s: ShipmentEntity): Payloads['ShipmentCreated'] {
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

  async handle(message: ShippingMessage, tx: EntityManager): Promise<void> {
    switch (message.eventType) {
      case 'ShipmentRequested':
        return this.ship(message, tx);
      case 'ShipmentStatusChanged':
        // Our own event on the shared topic: nothing to do.
        return;
      default:
        return assertUnreachable(message, 'shipping message');
    }
  }

  private async ship(message: TypedEnvelope<'ShipmentRequested'>, tx: EntityManager): Promise<void> {
    const { orderId } = message;
    const trace: Trace = { correlationId: message.correlationId, causationId: message.eventId };
    // Drawn first and always, so a seeded run makes the same choices for the same commands.
    const decision = this.simulator.decide();
    const delay = { delayMs: decision.delayMs };
    try {
      // A plain read: one order's messages come one at a time (one partition); a concurrent insert
      // would hit the unique key, roll back, and be answered from this branch on its retry.
      const existing = await tx.findOne(ShipmentEntity, { where: { orderId } });
      if (existing) {
        this.logger.log(`order ${orderId} already has shipment ${existing.id} (${existing.trackingNumber}); answering the same`);
        await this.outbox.enqueue(tx, 'ShipmentCreated', orderId, shipmentView(existing), trace, delay);
        return;
      }
      if (decision.outcome === 'reject') throw new ShippingException(ShippingErrorCode.CARRIER_REJECTED, `${decision.carrier} refused the shipment (simulated)`);

      const now = new Date();
      const shipment = tx.create(ShipmentEntity, {
        id: randomUUID(),
        orderId,
        correlationId: message.correlationId,
        carrier: decision.carrier,
        trackingNumber: newTrackingNumber(),
        status: 'IN_TRANSIT',
        estimatedDelivery: new Date(now.getTime() + decision.deliveryDays * DAY_MS),
        // Counted from when the answer leaves, so DELIVERED never comes before ShipmentCreated.
        deliverAfter: new Date(now.getTime() + decision.delayMs + this.simulator.behaviour.deliveryDelayMs),
        createdAt: now,
        updatedAt: now,
      });
      await tx.insert(ShipmentEntity, shipment);
      const view = shipmentView(shipment);
      this.logger.log(`order ${orderId}: shipment ${shipment.id} with ${shipment.carrier}, tracking ${shipment.trackingNumber}, answering in ${decision.delayMs} ms`);
      await this.outbox.enqueue(tx, 'ShipmentCreated', orderId, view, trace, delay);
      await this.outbox.enqueue(tx, 'ShipmentStatusChanged', orderId, view, trace, delay);
    } catch (err) {
      if (!(err instanceof ShippingException)) throw err;
      this.logger.log(`order ${orderId}: shipment rejected (${err.message})`);
      await this.outbox.enqueue(tx, 'ShipmentRejected', orderId, err.toRejection(), trace, delay);
    }
  }
}
