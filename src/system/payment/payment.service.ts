import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { newEnvelope, type Envelope } from '../../contracts/envelope.js';
import { affectedRows, SqlBatch } from '../../platform/database/sql-batch.js';
import type { TypedEnvelope } from '../../platform/messaging/message-processor.service.js';
import { causedBy, OutboxService } from '../../platform/messaging/outbox.service.js';
import { assertUnreachable } from '../shared/assert-unreachable.js';
import type { PaymentStatus } from './payment.entity.js';
import { PaymentErrorCode, PaymentException } from './payment.exception.js';
import { PaymentSimulator } from './payment.simulator.js';

export type PaymentCommand = TypedEnvelope<'ChargePayment' | 'RefundPayment'>;

/** The order's payment row (DECIMAL columns come back as numbers). */
interface PaymentRow {
  id: string;
  amount: number;
  currency: string;
  status: PaymentStatus;
  refunded_amount: number;
}

const SELECT_PAYMENT = 'SELECT id, amount, currency, status, refunded_amount FROM payments WHERE order_id = ?';

/**
 * The payment provider: exactly one charge per order (`payments.order_id` is unique), whatever the
 * redeliveries and retries. Works in the caller's transaction and stages its replies in the outbox,
 * delayed by the simulated latency. Each command costs one read and at most one write round trip.
 */
@Injectable()
export class PaymentService {
  private readonly logger = new Logger(PaymentService.name);

  constructor(
    private readonly outbox: OutboxService,
    private readonly simulator: PaymentSimulator,
  ) {}

  async handle(message: PaymentCommand, tx: EntityManager): Promise<void> {
    switch (message.eventType) {
      case 'ChargePayment':
        return this.charge(message, tx);
      case 'RefundPayment':
        return this.refund(message, tx);
      default:
        return assertUnreachable(message, 'payment command');
    }
  }

  private async charge(message: TypedEnvelope<'ChargePayment'>, tx: EntityManager): Promise<void> {
    const { orderId, payload } = message;
    const trace = causedBy(message);
    // Drawn first and always, so a seeded run makes the same choices for the same commands.
    const decision = this.simulator.decide();
    const delay = { delayMs: decision.delayMs };
    const write = new SqlBatch();
    const messages: Envelope[] = [];
    try {
      // A plain read: one order's commands come one at a time (one partition); a concurrent insert
      // would hit the unique key, roll back, and be answered from this branch on its retry.
      const [existing]: PaymentRow[] = await tx.query(SELECT_PAYMENT, [orderId]);
      if (existing) {
        this.logger.log(`order ${orderId} already has payment ${existing.id} (${existing.status}); answering the same`);
        switch (existing.status) {
          case 'CHARGED':
            messages.push(newEnvelope('PaymentCharged', orderId, { paymentId: existing.id, amount: Number(existing.amount), currency: existing.currency }, trace));
            break;
          case 'DECLINED':
            throw new PaymentException(PaymentErrorCode.DECLINED, `payment ${existing.id} was declined`);
          case 'REFUNDED':
            throw new PaymentException(PaymentErrorCode.ALREADY_REFUNDED, `payment ${existing.id} was refunded; the order cannot be charged again`);
          default:
            return assertUnreachable(existing.status, 'payment status');
        }
      } else {
        switch (decision.outcome) {
          case 'noAnswer':
            // Nothing recorded, nothing sent: the saga's deadline takes over.
            this.logger.log(`order ${orderId}: simulating a payment provider that never answers`);
            return;
          case 'unavailable':
            throw new PaymentException(PaymentErrorCode.UNAVAILABLE, 'simulated payment provider outage');
          case 'decline': {
            // Recorded in the same round trip as the rejection staged below.
            const declinedId = this.record(write, message, 'DECLINED');
            throw new PaymentException(PaymentErrorCode.DECLINED, `payment ${declinedId} was declined`);
          }
          case 'charge': {
            const chargedId = this.record(write, message, 'CHARGED');
            this.logger.log(`order ${orderId}: charged ${payload.amount} ${payload.currency} as ${chargedId}, answering in ${decision.delayMs} ms`);
            messages.push(newEnvelope('PaymentCharged', orderId, { paymentId: chargedId, amount: payload.amount, currency: payload.currency }, trace));
            break;
          }
          default:
            return assertUnreachable(decision.outcome, 'payment outcome');
        }
      }
    } catch (err) {
      if (!(err instanceof PaymentException)) throw err;
      this.logger.log(`order ${orderId}: payment rejected (${err.message})`);
      messages.push(newEnvelope('PaymentRejected', orderId, err.toRejection(), trace));
    }
    this.outbox.stage(write, messages, delay);
    await write.run(tx);
  }

  private async refund(message: TypedEnvelope<'RefundPayment'>, tx: EntityManager): Promise<void> {
    const { orderId } = message;
    const trace = causedBy(message);
    const delay = { delayMs: this.simulator.latency() };
    const [payment]: Array<PaymentRow | undefined> = await tx.query(`${SELECT_PAYMENT} FOR UPDATE`, [orderId]);
    const write = new SqlBatch();
    let guarded = -1;
    let answer: Envelope;
    if (payment?.status === 'CHARGED') {
      const amount = Number(payment.amount);
      guarded = write.add(`UPDATE payments SET status = 'REFUNDED', refunded_amount = ?, updated_at = ? WHERE id = ? AND status = 'CHARGED'`, [amount, new Date(), payment.id]);
      this.logger.log(`order ${orderId}: refunded ${amount} ${payment.currency} of ${payment.id}`);
      answer = newEnvelope('PaymentRefunded', orderId, { paymentId: payment.id, amount }, trace);
    } else if (payment?.status === 'REFUNDED') {
      this.logger.log(`order ${orderId}: ${payment.id} was refunded already; answering the same`);
      answer = newEnvelope('PaymentRefunded', orderId, { paymentId: payment.id, amount: Number(payment.refunded_amount) }, trace);
    } else {
      this.logger.log(`order ${orderId}: nothing to refund${payment ? ` (${payment.id} is ${payment.status})` : ''}`);
      answer = newEnvelope('PaymentRefunded', orderId, { paymentId: null, amount: 0 }, trace);
    }
    this.outbox.stage(write, [answer], delay);
    const results = await write.run(tx);
    // The row is locked FOR UPDATE, so this cannot happen; if it does, the refund rolls back.
    if (guarded >= 0 && affectedRows(results[guarded]) !== 1) throw new Error(`payment ${payment!.id} of order ${orderId} left CHARGED while locked`);
  }

  /** Stages the order's one payment row in `batch`; returns its id. */
  private record(batch: SqlBatch, message: TypedEnvelope<'ChargePayment'>, status: 'CHARGED' | 'DECLINED'): string {
    const id = randomUUID();
    const now = new Date();
    const { customerId, amount, currency } = message.payload;
    batch.add('INSERT INTO payments (id, order_id, customer_id, amount, currency, status, refunded_amount, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)', [
      id,
      message.orderId,
      customerId,
      amount,
      currency,
      status,
      now,
      now,
    ]);
    return id;
  }
}
