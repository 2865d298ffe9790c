import { Injectable } from '@nestjs/common';
import { newId } from '../../contracts/ids.js';
import type { EntityManager } from 'typeorm';
import { newEnvelope, type Envelope } from '../../contracts/envelope.js';
import type { TypedEnvelope } from '../../platform/messaging/message-processor.service.js';
import { causedBy } from '../../platform/messaging/outbox.service.js';
import { assertUnreachable } from '../../common/assert-unreachable.js';
import { orderIdsOf, type ByOrder } from '../common/read-by-order.js';
import { SystemBatchHandler } from '../common/system-batch-handler.js';
import { PaymentErrorCode, PaymentException } from './payment.exception.js';
import { PaymentRepository, type NewPayment, type Payment, type PaymentWrites } from './payment.repository.js';
import { PaymentSimulator, type PaymentDecision } from './payment.simulator.js';

export type PaymentCommand = TypedEnvelope<'ChargePayment' | 'RefundPayment'>;

/** The batch's view while it is decided: each order's payment and the orders refunded, kept current. */
type PaymentState = ByOrder<Payment>;

interface PaymentBatch {
  state: PaymentState;
  writes: PaymentWrites;
}

/**
 * The payment provider: exactly one charge per order (`payments.order_id` is unique), whatever the
 * redeliveries and retries. Works in the caller's transaction and stages its replies in the outbox,
 * delayed by the simulated latency; it never waits.
 *
 * A batch of commands (one command is a batch of one) costs one read round trip (the orders'
 * payments: a plain read for charges, locked for refunds) and at most one write round trip. Each
 * command is decided in memory, in order, against the payments the commands before it left, so a
 * retried charge in the same batch as the first answers with the first's payment.
 */
@Injectable()
export class PaymentService extends SystemBatchHandler<PaymentCommand, PaymentBatch> {
  constructor(
    private readonly payments: PaymentRepository,
    private readonly simulator: PaymentSimulator,
  ) {
    super();
  }

  /** The orders' payments: a plain read for charges, locked for refunds (see PaymentRepository). */
  protected async read(messages: PaymentCommand[], tx: EntityManager): Promise<PaymentBatch> {
    const state = await this.payments.read(tx, { forward: orderIdsOf(messages, 'ChargePayment'), compensating: orderIdsOf(messages, 'RefundPayment') });
    return { state, writes: { inserts: [], refunds: [], compensated: [], outgoing: [] } };
  }

  protected decide(message: PaymentCommand, _index: number, { state, writes }: PaymentBatch): void {
    // Drawn first and always, one per command in order, so a seeded run makes the same choices.
    switch (message.eventType) {
      case 'ChargePayment':
        return this.charge(message, this.simulator.decide(), state, writes);
      case 'RefundPayment':
        return this.refund(message, this.simulator.latency(), state, writes);
      default:
        return assertUnreachable(message, 'payment command');
    }
  }

  protected write({ writes }: PaymentBatch, tx: EntityManager, now: Date): Promise<void> {
    return this.payments.write(tx, writes, now);
  }

  private charge(message: TypedEnvelope<'ChargePayment'>, decision: PaymentDecision, state: PaymentState, writes: PaymentWrites): void {
    const { orderId } = message;
    let answer: Envelope | null;
    try {
      const existing = state.rows.get(orderId);
      if (state.compensated.has(orderId) && existing?.status !== 'CHARGED') {
        // Refunded before anything was charged (or the charge was refunded): the saga gave up on the order.
        throw new PaymentException(PaymentErrorCode.ALREADY_REFUNDED, 'this order was refunded already; it cannot be charged');
      }
      answer = existing ? this.answerAgain(message, existing) : this.chargeNew(message, decision, state, writes);
    } catch (err) {
      if (!(err instanceof PaymentException)) throw err;
      this.logger.log(`order ${orderId}: payment rejected (${err.message})`);
      answer = newEnvelope('PaymentRejected', orderId, err.toRejection(), causedBy(message));
    }
    if (answer) writes.outgoing.push({ messages: [answer], delayMs: decision.delayMs });
  }

  /** A charge for an order that has its payment already: the same answer as the first time. */
  private answerAgain(message: TypedEnvelope<'ChargePayment'>, existing: Payment): Envelope {
    const { orderId } = message;
    this.logger.log(`order ${orderId} already has payment ${existing.id} (${existing.status}); answering the same`);
    switch (existing.status) {
      case 'CHARGED':
        return newEnvelope('PaymentCharged', orderId, { paymentId: existing.id, amount: existing.amount, currency: existing.currency }, causedBy(message));
      case 'DECLINED':
        throw new PaymentException(PaymentErrorCode.DECLINED, `payment ${existing.id} was declined`);
      case 'REFUNDED':
        throw new PaymentException(PaymentErrorCode.ALREADY_REFUNDED, `payment ${existing.id} was refunded; the order cannot be charged again`);
      default:
        return assertUnreachable(existing.status, 'payment status');
    }
  }

  /** The simulated provider's answer to a first charge; null when it never answers. */
  private chargeNew(message: TypedEnvelope<'ChargePayment'>, decision: PaymentDecision, state: PaymentState, writes: PaymentWrites): Envelope | null {
    const { orderId, payload } = message;
    switch (decision.outcome) {
      case 'noAnswer':
        // Nothing recorded, nothing sent: the saga's deadline takes over.
        this.logger.log(`order ${orderId}: simulating a payment provider that never answers`);
        return null;
      case 'unavailable':
        throw new PaymentException(PaymentErrorCode.UNAVAILABLE, 'simulated payment provider outage');
      case 'fault':
        // Not a PaymentException: no answer is sent, the consumer retries the command and then dead-letters it.
        throw new Error(`simulated payment provider fault on order ${orderId}`);
      case 'decline': {
        // Recorded in the same write as the rejection sent for it.
        const declined = record(state, writes, message, 'DECLINED');
        throw new PaymentException(PaymentErrorCode.DECLINED, `payment ${declined.id} was declined`);
      }
      case 'charge': {
        const charged = record(state, writes, message, 'CHARGED');
        this.logger.log(`order ${orderId}: charged ${payload.amount} ${payload.currency} as ${charged.id}, answering in ${decision.delayMs} ms`);
        return newEnvelope('PaymentCharged', orderId, { paymentId: charged.id, amount: payload.amount, currency: payload.currency }, causedBy(message));
      }
      default:
        return assertUnreachable(decision.outcome, 'payment outcome');
    }
  }

  private refund(message: TypedEnvelope<'RefundPayment'>, delayMs: number, { rows, compensated }: PaymentState, writes: PaymentWrites): void {
    const { orderId } = message;
    const trace = causedBy(message);
    const payment = rows.get(orderId);
    if (!compensated.has(orderId)) {
      // Remembered even when nothing was charged, so a charge that arrives later is refused.
      compensated.add(orderId);
      writes.compensated.push(orderId);
    }
    let answer: Envelope;
    if (payment?.status === 'CHARGED') {
      const amount = payment.amount;
      writes.refunds.push({ paymentId: payment.id, orderId, amount });
      payment.status = 'REFUNDED';
      payment.refundedAmount = amount;
      this.logger.log(`order ${orderId}: refunded ${amount} ${payment.currency} of ${payment.id}`);
      answer = newEnvelope('PaymentRefunded', orderId, { paymentId: payment.id, amount }, trace);
    } else if (payment?.status === 'REFUNDED') {
      this.logger.log(`order ${orderId}: ${payment.id} was refunded already; answering the same`);
      answer = newEnvelope('PaymentRefunded', orderId, { paymentId: payment.id, amount: payment.refundedAmount }, trace);
    } else {
      this.logger.log(`order ${orderId}: nothing to refund${payment ? ` (${payment.id} is ${payment.status})` : ''}`);
      answer = newEnvelope('PaymentRefunded', orderId, { paymentId: null, amount: 0 }, trace);
    }
    writes.outgoing.push({ messages: [answer], delayMs });
  }
}

/** The order's one payment: staged for insertion and known to the rest of the batch. */
function record(state: PaymentState, writes: PaymentWrites, message: TypedEnvelope<'ChargePayment'>, status: NewPayment['status']): NewPayment {
  const { customerId, amount, currency } = message.payload;
  const payment: NewPayment = { id: newId(), orderId: message.orderId, customerId, amount, currency, status, refundedAmount: 0 };
  // A copy: a refund later in the batch changes the row it knows, not the one inserted.
  writes.inserts.push({ ...payment });
  state.rows.set(payment.orderId, payment);
  return payment;
}
