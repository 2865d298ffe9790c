import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { newEnvelope, type Envelope } from '../../contracts/envelope.js';
import { affectedRows, placeholders, SqlBatch } from '../../platform/database/sql-batch.js';
import type { TypedEnvelope } from '../../platform/messaging/message-processor.service.js';
import { causedBy, OutboxService, type OutgoingMessages } from '../../platform/messaging/outbox.service.js';
import { correlation, messageTrace } from '../../platform/observability/correlation.js';
import { assertUnreachable } from '../../common/assert-unreachable.js';
import { compensatedOrders } from '../common/compensated-orders.js';
import type { PaymentStatus } from './payment.entity.js';
import { PaymentErrorCode, PaymentException } from './payment.exception.js';
import { PaymentSimulator, type PaymentDecision } from './payment.simulator.js';

export type PaymentCommand = TypedEnvelope<'ChargePayment' | 'RefundPayment'>;

/** An order's payment row (DECIMAL columns come back as numbers). */
interface PaymentRow {
  id: string;
  order_id: string;
  amount: number;
  currency: string;
  status: PaymentStatus;
  refunded_amount: number;
}

const SELECT_PAYMENTS = 'SELECT id, order_id, amount, currency, status, refunded_amount FROM payments';

/** What one batch writes, in the order its commands were decided. */
interface PaymentWrites {
  inserts: unknown[][];
  /** Guarded refunds of rows read as CHARGED (a row charged in this batch is inserted first). */
  refunds: Array<{ paymentId: string; orderId: string; amount: number }>;
  /** Orders refunded for the first time in this batch (remembered even when nothing was charged). */
  compensated: string[];
  outgoing: OutgoingMessages[];
}

/** What the read round trip found: each order's payment, and the orders refunded before. */
interface PaymentState {
  payments: Map<string, PaymentRow>;
  compensated: Set<string>;
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
export class PaymentService {
  private readonly logger = new Logger(PaymentService.name);

  constructor(
    private readonly outbox: OutboxService,
    private readonly simulator: PaymentSimulator,
  ) {}

  handle(message: PaymentCommand, tx: EntityManager): Promise<void> {
    return this.handleMany([message], tx);
  }

  /** Commands of one partition, in offset order, in one transaction (see the class comment). */
  async handleMany(messages: PaymentCommand[], tx: EntityManager): Promise<void> {
    if (!messages.length) return;
    const { payments, compensated } = await this.read(messages, tx);

    const writes: PaymentWrites = { inserts: [], refunds: [], compensated: [], outgoing: [] };
    const now = new Date();
    for (const message of messages) {
      correlation.run(messageTrace(message), () => {
        // Drawn first and always, one per command in order, so a seeded run makes the same choices.
        switch (message.eventType) {
          case 'ChargePayment':
            return this.charge(message, this.simulator.decide(), { payments, compensated }, writes, now);
          case 'RefundPayment':
            return this.refund(message, this.simulator.latency(), { payments, compensated }, writes);
          default:
            return assertUnreachable(message, 'payment command');
        }
      });
    }
    await this.write(tx, writes, now);
  }

  /**
   * The read round trip. Charges read without locks: one order's commands come one at a time (one
   * partition), and a concurrent insert would hit the unique key, roll back, and be answered from
   * the existing row on its retry. Refunds lock the row they will change.
   */
  private async read(messages: PaymentCommand[], tx: EntityManager): Promise<PaymentState> {
    const ids = (type: PaymentCommand['eventType']) => [...new Set(messages.filter((m) => m.eventType === type).map((m) => m.orderId))];
    const charged = ids('ChargePayment');
    const refunded = ids('RefundPayment');
    const read = new SqlBatch();
    const compensatedAt = compensatedOrders.select(read, 'payment', [...new Set(messages.map((m) => m.orderId))]);
    if (charged.length) read.add(`${SELECT_PAYMENTS} WHERE order_id IN (${placeholders(charged)})`, charged);
    // Last, so that for an order in both lists the locked (latest) read wins.
    if (refunded.length) read.add(`${SELECT_PAYMENTS} WHERE order_id IN (${placeholders(refunded)}) FOR UPDATE`, refunded);
    const results = await read.run(tx);
    const rows = results.filter((_, i) => i !== compensatedAt) as PaymentRow[][];
    return { payments: new Map(rows.flat().map((row) => [row.order_id, row])), compensated: compensatedOrders.ids(results[compensatedAt]) };
  }

  private charge(message: TypedEnvelope<'ChargePayment'>, decision: PaymentDecision, { payments, compensated }: PaymentState, writes: PaymentWrites, now: Date): void {
    const { orderId, payload } = message;
    const trace = causedBy(message);
    const send = (m: Envelope): void => {
      writes.outgoing.push({ messages: [m], delayMs: decision.delayMs });
    };
    const existing = payments.get(orderId);
    try {
      if (compensated.has(orderId) && existing?.status !== 'CHARGED') {
        // Refunded before anything was charged (or the charge was refunded): the saga gave up on the order.
        throw new PaymentException(PaymentErrorCode.ALREADY_REFUNDED, 'this order was refunded already; it cannot be charged');
      }
      if (existing) {
        this.logger.log(`order ${orderId} already has payment ${existing.id} (${existing.status}); answering the same`);
        switch (existing.status) {
          case 'CHARGED':
            return send(newEnvelope('PaymentCharged', orderId, { paymentId: existing.id, amount: Number(existing.amount), currency: existing.currency }, trace));
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
        case 'fault':
          // Not a PaymentException: no answer is sent, the consumer retries the command and then dead-letters it.
          throw new Error(`simulated payment provider fault on order ${orderId}`);
        case 'decline': {
          // Recorded in the same write as the rejection sent below.
          const declined = this.record(writes, payments, message, 'DECLINED', now);
          throw new PaymentException(PaymentErrorCode.DECLINED, `payment ${declined.id} was declined`);
        }
        case 'charge': {
          const charged = this.record(writes, payments, message, 'CHARGED', now);
          this.logger.log(`order ${orderId}: charged ${payload.amount} ${payload.currency} as ${charged.id}, answering in ${decision.delayMs} ms`);
          return send(newEnvelope('PaymentCharged', orderId, { paymentId: charged.id, amount: payload.amount, currency: payload.currency }, trace));
        }
        default:
          return assertUnreachable(decision.outcome, 'payment outcome');
      }
    } catch (err) {
      if (!(err instanceof PaymentException)) throw err;
      this.logger.log(`order ${orderId}: payment rejected (${err.message})`);
      send(newEnvelope('PaymentRejected', orderId, err.toRejection(), trace));
    }
  }

  private refund(message: TypedEnvelope<'RefundPayment'>, delayMs: number, { payments, compensated }: PaymentState, writes: PaymentWrites): void {
    const { orderId } = message;
    const trace = causedBy(message);
    const payment = payments.get(orderId);
    if (!compensated.has(orderId)) {
      // Remembered even when nothing was charged, so a charge that arrives later is refused.
      compensated.add(orderId);
      writes.compensated.push(orderId);
    }
    let answer: Envelope;
    if (payment?.status === 'CHARGED') {
      const amount = Number(payment.amount);
      writes.refunds.push({ paymentId: payment.id, orderId, amount });
      payment.status = 'REFUNDED';
      payment.refunded_amount = amount;
      this.logger.log(`order ${orderId}: refunded ${amount} ${payment.currency} of ${payment.id}`);
      answer = newEnvelope('PaymentRefunded', orderId, { paymentId: payment.id, amount }, trace);
    } else if (payment?.status === 'REFUNDED') {
      this.logger.log(`order ${orderId}: ${payment.id} was refunded already; answering the same`);
      answer = newEnvelope('PaymentRefunded', orderId, { paymentId: payment.id, amount: Number(payment.refunded_amount) }, trace);
    } else {
      this.logger.log(`order ${orderId}: nothing to refund${payment ? ` (${payment.id} is ${payment.status})` : ''}`);
      answer = newEnvelope('PaymentRefunded', orderId, { paymentId: null, amount: 0 }, trace);
    }
    writes.outgoing.push({ messages: [answer], delayMs });
  }

  /** The order's one payment row: staged for insertion and known to the rest of the batch. */
  private record(writes: PaymentWrites, payments: Map<string, PaymentRow>, message: TypedEnvelope<'ChargePayment'>, status: 'CHARGED' | 'DECLINED', now: Date): PaymentRow {
    const { customerId, amount, currency } = message.payload;
    const row: PaymentRow = { id: randomUUID(), order_id: message.orderId, amount, currency, status, refunded_amount: 0 };
    writes.inserts.push([row.id, row.order_id, customerId, amount, currency, status, 0, now, now]);
    payments.set(row.order_id, row);
    return row;
  }

  /** The write round trip: new payments (one INSERT), guarded refunds, then the replies (one INSERT). */
  private async write(tx: EntityManager, writes: PaymentWrites, now: Date): Promise<void> {
    const write = new SqlBatch();
    compensatedOrders.record(write, 'payment', writes.compensated, now);
    if (writes.inserts.length) {
      write.addRows('INSERT INTO payments (id, order_id, customer_id, amount, currency, status, refunded_amount, created_at, updated_at)', writes.inserts);
    }
    const guarded = writes.refunds.map((r) => ({
      ...r,
      at: write.add(`UPDATE payments SET status = 'REFUNDED', refunded_amount = ?, updated_at = ? WHERE id = ? AND status = 'CHARGED'`, [r.amount, now, r.paymentId]),
    }));
    this.outbox.stageEach(write, writes.outgoing);
    if (!write.size) return;
    const results = await write.run(tx);
    // A read row is locked FOR UPDATE, so this cannot happen; if it does, the batch rolls back.
    for (const r of guarded) {
      if (affectedRows(results[r.at]) !== 1) throw new Error(`payment ${r.paymentId} of order ${r.orderId} left CHARGED while locked`);
    }
  }
}
