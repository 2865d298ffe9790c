import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { Envelope } from '../../contracts/envelope.js';
import type { ShipmentStatus } from '../../contracts/order-status.js';
import { expectRows, keyTable, SqlBatch } from '../../platform/database/sql-batch.js';
import { OutboxService, type OutgoingMessages } from '../../platform/messaging/outbox.service.js';
import { compensatedOrders } from '../common/compensated-orders.js';
import { readByOrder, type ByOrder, type OrderIds } from '../common/read-by-order.js';

/** An order's one shipment (`shipments.order_id` is unique). */
export interface Shipment {
  id: string;
  orderId: string;
  carrier: string;
  trackingNumber: string;
  status: ShipmentStatus;
  estimatedDelivery: Date;
}

/** A shipment created by this batch. */
export interface NewShipment extends Shipment {
  correlationId: string;
  /** When the delivery scheduler marks it DELIVERED. */
  deliverAfter: Date;
}

/** A shipment claimed for delivery (IN_TRANSIT, as the claim selects). */
export interface DueShipment extends Shipment {
  correlationId: string | null;
}

/** What one batch writes, in the order its messages were decided. */
export interface ShippingWrites {
  /** New shipments, by order id (a shipment cancelled later in the same batch is inserted CANCELLED). */
  inserts: Map<string, NewShipment>;
  /** Shipments read as cancellable and locked, to mark CANCELLED (guarded). */
  cancels: Array<{ shipmentId: string; orderId: string }>;
  /** Orders cancelled for the first time in this batch (remembered even without a shipment). */
  compensated: string[];
  outgoing: OutgoingMessages[];
}

/** A shipment row as read (DATETIME columns come back as Dates). */
interface ShipmentRow {
  id: string;
  order_id: string;
  carrier: string;
  tracking_number: string;
  status: ShipmentStatus;
  estimated_delivery: Date | string;
}

interface DueRow extends Omit<ShipmentRow, 'status'> {
  correlation_id: string | null;
}

const SELECT_SHIPMENTS = 'SELECT id, order_id, carrier, tracking_number, status, estimated_delivery FROM shipments';

function toShipment(row: ShipmentRow): Shipment {
  return { id: row.id, orderId: row.order_id, carrier: row.carrier, trackingNumber: row.tracking_number, status: row.status, estimatedDelivery: new Date(row.estimated_delivery) };
}

function toDueShipment(row: DueRow): DueShipment {
  return { ...toShipment({ ...row, status: 'IN_TRANSIT' }), correlationId: row.correlation_id };
}

/** All SQL of the `shipments` table: the shipping module's batches and the delivery scheduler's passes. */
@Injectable()
export class ShipmentRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxService,
  ) {}

  /**
   * The orders' shipments and which of them were cancelled before. Requests read without locks: one
   * order's messages come one at a time (one partition), and a concurrent insert would hit the unique
   * key, roll back, and be answered from the existing row on its retry. Cancellations lock the rows
   * they change (the delivery pass skips locked rows).
   */
  async read(tx: EntityManager, ids: OrderIds): Promise<ByOrder<Shipment>> {
    return readByOrder(tx, 'shipping', SELECT_SHIPMENTS, ids, toShipment);
  }

  /** New shipments (one INSERT), guarded cancellations, then the messages (one INSERT), in one round trip. */
  async write(tx: EntityManager, writes: ShippingWrites, now: Date): Promise<void> {
    const write = new SqlBatch();
    compensatedOrders.record(write, 'shipping', writes.compensated, now);
    if (writes.inserts.size) {
      write.addRows(
        'INSERT INTO shipments (id, order_id, correlation_id, carrier, tracking_number, status, estimated_delivery, deliver_after, created_at, updated_at)',
        [...writes.inserts.values()].map((s) => [s.id, s.orderId, s.correlationId, s.carrier, s.trackingNumber, s.status, s.estimatedDelivery, s.deliverAfter, now, now]),
      );
    }
    for (const c of writes.cancels) {
      // The row is locked FOR UPDATE since the read, so this cannot fail; if it does, the batch rolls back.
      write.add(
        `UPDATE shipments SET status = 'CANCELLED', updated_at = ? WHERE id = ? AND status IN ('PENDING', 'IN_TRANSIT')`,
        [now, c.shipmentId],
        expectRows(1, () => `shipment ${c.shipmentId} of order ${c.orderId} left its status while locked`),
      );
    }
    this.outbox.stageEach(write, writes.outgoing);
    await write.run(tx);
  }

  /** Whether any shipment is due: a cheap look, with no transaction and no locks. */
  async anyDue(now: Date): Promise<boolean> {
    const [{ n }] = await this.dataSource.query(`SELECT COUNT(*) AS n FROM shipments WHERE status = 'IN_TRANSIT' AND deliver_after <= ?`, [now]);
    return Number(n) > 0;
  }

  /** Claims up to `limit` due shipments, oldest first, skipping rows another pass (or a cancellation) holds. */
  async claimDue(tx: EntityManager, now: Date, limit: number): Promise<DueShipment[]> {
    const rows: DueRow[] = await tx.query(
      `SELECT id, order_id, correlation_id, carrier, tracking_number, estimated_delivery FROM shipments
         WHERE status = 'IN_TRANSIT' AND deliver_after <= ? ORDER BY deliver_after LIMIT ? FOR UPDATE SKIP LOCKED`,
      [now, limit],
    );
    return rows.map(toDueShipment);
  }

  /** Marks the claimed shipments DELIVERED and stages their announcements, in one round trip. */
  async markDelivered(tx: EntityManager, due: readonly DueShipment[], announcements: Envelope[], at: Date): Promise<void> {
    const write = new SqlBatch();
    // The rows are locked by this transaction: they cannot have changed since the claim.
    write.add(
      `UPDATE ${keyTable('k')} STRAIGHT_JOIN shipments s ON s.id = k.id SET s.status = 'DELIVERED', s.updated_at = ? WHERE s.status = 'IN_TRANSIT'`,
      [JSON.stringify(due.map((d) => d.id)), at],
      expectRows(due.length, (marked) => `delivery claimed ${due.length} shipments but marked ${marked}`),
    );
    this.outbox.stage(write, announcements);
    await write.run(tx);
  }
}
