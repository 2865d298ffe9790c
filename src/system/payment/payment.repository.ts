import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { expectRows, SqlBatch } from '../../platform/database/sql-batch.js';
import { OutboxService, type OutgoingMessages } from '../../platform/messaging/outbox.service.js';
import { compensatedOrders } from '../common/compensated-orders.js';
import { readByOrder, type ByOrder, type OrderIds } from '../common/read-by-order.js';

export type PaymentStatus = 'CHARGED' | 'DECLINED' | 'REFUNDED';

/** An order's one payment (`payments.order_id` is unique). */
export interface Payment {
  id: string;
  orderId: string;
  amount: number;
  currency: string;
  status: PaymentStatus;
  refundedAmount: number;
}

/** A payment recorded by this batch. */
export interface NewPayment extends Payment {
  customerId: string;
  status: 'CHARGED' | 'DECLINED';
}

/** What one batch writes, in the order its commands were decided. */
export interface PaymentWrites {
  inserts: NewPayment[];
  /** Guarded refunds of rows read as CHARGED (a row charged in this batch is inserted first). */
  refunds: Array<{ paymentId: string; orderId: string; amount: number }>;
  /** Orders refunded for the first time in this batch (remembered even when nothing was charged). */
  compensated: string[];
  outgoing: OutgoingMessages[];
}

/** A payment row as read (DECIMAL columns come back as numbers). */
interface PaymentRow {
  id: string;
  order_id: string;
  amount: number;
  currency: string;
  status: PaymentStatus;
  refunded_amount: number;
}

const SELECT_PAYMENTS = 'SELECT id, order_id, amount, currency, status, refunded_amount FROM payments';

function toPayment(row: PaymentRow): Payment {
  return { id: row.id, orderId: row.order_id, amount: Number(row.amount), currency: row.currency, status: row.status, refundedAmount: Number(row.refunded_amount) };
}

/** All SQL of the `payments` table, each method one round trip in the caller's transaction. */
@Injectable()
export class PaymentRepository {
  constructor(private readonly outbox: OutboxService) {}

  /**
   * The orders' payments and which of them were refunded before. Charges read without locks: one
   * order's commands come one at a time (one partition), and a concurrent insert would hit the unique
   * key, roll back, and be answered from the existing row on its retry. Refunds lock the row they change.
   */
  async read(tx: EntityManager, ids: OrderIds): Promise<ByOrder<Payment>> {
    return readByOrder(tx, 'payment', SELECT_PAYMENTS, ids, toPayment);
  }

  /** New payments (one INSERT), guarded refunds, then the replies (one INSERT), in one round trip. */
  async write(tx: EntityManager, writes: PaymentWrites, now: Date): Promise<void> {
    const write = new SqlBatch();
    compensatedOrders.record(write, 'payment', writes.compensated, now);
    if (writes.inserts.length) {
      write.addRows(
        'INSERT INTO payments (id, order_id, customer_id, amount, currency, status, refunded_amount, created_at, updated_at)',
        writes.inserts.map((p) => [p.id, p.orderId, p.customerId, p.amount, p.currency, p.status, 0, now, now]),
      );
    }
    for (const r of writes.refunds) {
      // The row is locked FOR UPDATE since the read, so this cannot fail; if it does, the batch rolls back.
      write.add(
        `UPDATE payments SET status = 'REFUNDED', refunded_amount = ?, updated_at = ? WHERE id = ? AND status = 'CHARGED'`,
        [r.amount, now, r.paymentId],
        expectRows(1, () => `payment ${r.paymentId} of order ${r.orderId} left CHARGED while locked`),
      );
    }
    this.outbox.stageEach(write, writes.outgoing);
    await write.run(tx);
  }
}
