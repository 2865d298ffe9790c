import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { TypedEnvelope } from '../../platform/messaging/message-processor.service.js';
import { OutboxService, type Trace } from '../../platform/messaging/outbox.service.js';
import { assertUnreachable } from '../shared/assert-unreachable.js';
import { PaymentEntity } from './payment.entity.js';
import { PaymentErrorCode, PaymentException } from './payment.exception.js';
import { PaymentSimulator } from './payment.simulator.js';

export type PaymentCommand = TypedEnvelope<'ChargePayment' | 'RefundPayment'>;

/**
 * The payment provider: exactly one charge per order (`payments.order_id` is unique), whatever the
 * redeliveries and retries. Works in the caller's transaction and stages its replies in the outbox,
 * delayed by the simulated latency.
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
    const trace = traceOf(message);
    // Drawn first and always, so a seeded run makes the same choices for the same commands.
    const decision = this.simulator.decide();
    const delay = { delayMs: decision.delayMs };
    try {
      // A plain read: one order's commands come one at a time (one partition); a concurrent insert
      // would hit the unique key, roll back, and be answered from this branch on its retry.
      const existing = await tx.findOne(PaymentEntity, { where: { orderId } });
      if (existing) {
        this.logger.log(`order ${orderId} already has payment ${existing.id} (${existing.status}); answering the same`);
        switch (existing.status) {
          case 'CHARGED':
            await this.outbox.enqueue(tx, 'PaymentCharged', orderId, { paymentId: existing.id, amount: existing.amount, currency: existing.currency }, trace, delay);
            return;
          case 'DECLINED':
            throw new PaymentException(PaymentErrorCode.DECLINED, `payment ${existing.id} was declined`);
          case 'REFUNDED':
            throw new PaymentException(PaymentErrorCode.ALREADY_REFUNDED, `payment ${existing.id} was refunded; the order cannot be charged again`);
          default:
            return assertUnreachable(existing.status, 'payment status');
        }
      }

      switch (decision.outcome) {
        case 'noAnswer':
          // Nothing recorded, nothing sent: the saga's deadline takes over.
          this.logger.log(`order ${orderId}: simulating a payment provider that never answers`);
          return;
        case 'unavailable':
          throw new PaymentException(PaymentErrorCode.UNAVAILABLE, 'simulated payment provider outage');
        case 'decline': {
          const declined = await this.record(tx, message, 'DECLINED');
          throw new PaymentException(PaymentErrorCode.DECLINED, `payment ${declined.id} was declined`);
        }
        case 'charge': {
          const charged = await this.record(tx, message, 'CHARGED');
          this.logger.log(`order ${orderId}: charged ${charged.amount} ${charged.currency} as ${charged.id}, answering in ${decision.delayMs} ms`);
          await this.outbox.enqueue(tx, 'PaymentCharged', orderId, { paymentId: charged.id, amount: payload.amount, currency: payload.currency }, trace, delay);
          return;
        }
        default:
          return assertUnreachable(decision.outcome, 'payment outcome');
      }
    } catch (err) {
      if (!(err instanceof PaymentException)) throw err;
      this.logger.log(`order ${orderId}: payment rejected (${err.message})`);
      await this.outbox.enqueue(tx, 'PaymentRejected', orderId, err.toRejection(), trace, delay);
    }
  }

  private async refund(message: TypedEnvelope<'RefundPayment'>, tx: EntityManager): Promise<void> {
    const { orderId } = message;
    const trace = traceOf(message);
    const delay = { delayMs: this.simulator.latency() };
    const payment = await tx.findOne(PaymentEntity, { where: { orderId }, lock: { mode: 'pessimistic_write' } });
    if (payment?.status === 'CHARGED') {
      await tx.update(PaymentEntity, { id: payment.id, status: 'CHARGED' }, { status: 'REFUNDED', refundedAmount: payment.amount, updatedAt: new Date() });
      this.logger.log(`order ${orderId}: refunded ${payment.amount} ${payment.currency} of ${payment.id}`);
      await this.outbox.enqueue(tx, 'PaymentRefunded', orderId, { paymentId: payment.id, amount: payment.amount }, trace, delay);
    } else if (payment?.status === 'REFUNDED') {
      this.logger.log(`order ${orderId}: ${payment.id} was refunded already; answering the same`);
      await this.outbox.enqueue(tx, 'PaymentRefunded', orderId, { paymentId: payment.id, amount: payment.refundedAmount }, trace, delay);
    } else {
      this.logger.log(`order ${orderId}: nothing to refund${payment ? ` (${payment.id} is ${payment.status})` : ''}`);
      await this.outbox.enqueue(tx, 'PaymentRefunded', orderId, { paymentId: null, amount: 0 }, trace, delay);
    }
  }

  private async record(tx: EntityManager, message: TypedEnvelope<'ChargePayment'>, status: 'CHARGED' | 'DECLINED'): Promise<PaymentEntity> {
    const now = new Date();
    const row = tx.create(PaymentEntity, {
      id: randomUUID(),
      orderId: message.orderId,
      customerId: message.payload.customerId,
      amount: message.payload.amount,
      currency: message.payload.currency,
      status,
      refundedAmount: 0,
      createdAt: now,
      updatedAt: now,
    });
    await tx.insert(PaymentEntity, row);
    return row;
  }
}

function traceOf(message: { correlationId: string; eventId: string }): Trace {
  return { correlationId: message.correlationId, causationId: message.eventId };
}
