import { jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { newEnvelope } from '../../../src/contracts/envelope.js';
import { PaymentModule } from '../../../src/system/payment/payment.module.js';
import { PaymentService, type PaymentCommand } from '../../../src/system/payment/payment.service.js';
import { PaymentSimulator } from '../../../src/system/payment/payment.simulator.js';
import { expectDelay, startSystemHarness, type SystemHarness } from './system-harness.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('payment system (real MariaDB)', () => {
  let h: SystemHarness;
  let payments: PaymentService;
  let simulator: PaymentSimulator;

  beforeAll(async () => {
    h = await startSystemHarness(PaymentModule);
    payments = h.moduleRef.get(PaymentService);
    simulator = h.moduleRef.get(PaymentSimulator);
  });
  afterAll(() => h?.close());
  afterEach(() => simulator.reset());

  const charge = (orderId: string, amount = 42.5, attempt = 1) => {
    const m = newEnvelope('ChargePayment', orderId, { amount, currency: 'EUR', customerId: 'cust-42', attempt }, { correlationId: `corr-${orderId}` });
    return h.inTx((tx) => payments.handleMany([m], tx)).then(() => m);
  };
  const refund = (orderId: string) => {
    const m = newEnvelope('RefundPayment', orderId, { reason: 'SHIPPING_FAILED' }, { correlationId: `corr-${orderId}` });
    return h.inTx((tx) => payments.handleMany([m], tx)).then(() => m);
  };
  const rows = (orderId: string) =>
    h.dataSource.query('SELECT id, customer_id, amount, currency, status, refunded_amount FROM payments WHERE order_id = ?', [orderId]) as Promise<
      Array<{ id: string; customer_id: string; amount: number; currency: string; status: string; refunded_amount: number }>
    >;

  it('charges the order once and replies PaymentCharged with the new payment id', async () => {
    const orderId = randomUUID();
    const m = await charge(orderId);
    const [row, ...more] = await rows(orderId);
    expect(more).toEqual([]);
    expect(row).toMatchObject({ customer_id: 'cust-42', amount: 42.5, currency: 'EUR', status: 'CHARGED', refunded_amount: 0 });
    expect(row.id).toMatch(UUID);
    const staged = await h.staged(orderId);
    expect(staged).toHaveLength(1);
    expect(staged[0]).toMatchObject({ topic: 'payment-replies', eventType: 'PaymentCharged' });
    expect(staged[0].envelope).toMatchObject({ correlationId: m.correlationId, causationId: m.eventId, payload: { paymentId: row.id, amount: 42.5, currency: 'EUR' } });
  });

  it('never charges twice, whatever the retries: every ChargePayment answers with the same payment', async () => {
    const orderId = randomUUID();
    await charge(orderId);
    // Retries with new eventIds, one of them while the provider would now decline everything.
    await charge(orderId, 42.5, 2);
    simulator.configure({ declineRate: 1 });
    await charge(orderId, 42.5, 3);
    const all = await rows(orderId);
    expect(all).toHaveLength(1);
    const replies = await h.staged(orderId);
    expect(replies.map((r) => r.eventType)).toEqual(['PaymentCharged', 'PaymentCharged', 'PaymentCharged']);
    expect(new Set(replies.map((r) => r.envelope.payload.paymentId))).toEqual(new Set([all[0].id]));
  });

  it('records a decline and answers every later charge of the order with the same decline', async () => {
    const orderId = randomUUID();
    simulator.configure({ declineRate: 1 });
    await charge(orderId);
    simulator.reset();
    await charge(orderId, 42.5, 2);
    const all = await rows(orderId);
    expect(all).toHaveLength(1);
    expect(all[0].status).toBe('DECLINED');
    const replies = await h.staged(orderId);
    expect(replies.map((r) => [r.topic, r.eventType])).toEqual([
      ['payment-replies', 'PaymentRejected'],
      ['payment-replies', 'PaymentRejected'],
    ]);
    for (const r of replies) expect(r.envelope.payload).toMatchObject({ reason: 'PAYMENT_DECLINED', transient: false });
  });

  it('answers a simulated outage as transient and records nothing, so a retry can charge', async () => {
    const orderId = randomUUID();
    simulator.configure({ transientRate: 1 });
    await charge(orderId);
    expect(await rows(orderId)).toEqual([]);
    const [reply] = await h.staged(orderId);
    expect(reply.envelope.payload).toMatchObject({ reason: 'PAYMENT_UNAVAILABLE', transient: true });
    simulator.reset();
    await charge(orderId, 42.5, 2);
    expect((await rows(orderId)).map((r) => r.status)).toEqual(['CHARGED']);
  });

  it('simulates no answer: nothing recorded, nothing sent', async () => {
    const orderId = randomUUID();
    simulator.configure({ noAnswerRate: 1 });
    await charge(orderId);
    expect(await rows(orderId)).toEqual([]);
    expect(await h.staged(orderId)).toEqual([]);
  });

  it('simulates a fault: the command fails with an error that is no answer, nothing is recorded or sent', async () => {
    const orderId = randomUUID();
    simulator.configure({ declineRate: 0, transientRate: 0, noAnswerRate: 0, faultRate: 1 });
    await expect(charge(orderId)).rejects.toThrow(/simulated payment provider fault/);
    expect(await rows(orderId)).toEqual([]);
    expect(await h.staged(orderId)).toEqual([]);
  });

  it('delays the reply by the simulated latency', async () => {
    const orderId = randomUUID();
    simulator.configure({ latency: { minMs: 800, maxMs: 800 } });
    const started = Date.now();
    await charge(orderId);
    const finished = Date.now();
    const [reply] = await h.staged(orderId);
    expectDelay(reply, started, finished, 800);
  });

  it('refunds a charge once; a second refund changes nothing and answers the same', async () => {
    const orderId = randomUUID();
    await charge(orderId, 19.99);
    await refund(orderId);
    await refund(orderId);
    const [row] = await rows(orderId);
    expect(row).toMatchObject({ status: 'REFUNDED', amount: 19.99, refunded_amount: 19.99 });
    const refunds = (await h.staged(orderId)).filter((s) => s.eventType === 'PaymentRefunded');
    expect(refunds).toHaveLength(2);
    for (const r of refunds) expect(r).toMatchObject({ topic: 'payment-replies', envelope: { payload: { paymentId: row.id, amount: 19.99 } } });
    // A charge after the refund is refused instead of charging again.
    await charge(orderId, 19.99, 4);
    expect(await rows(orderId)).toHaveLength(1);
    const last = (await h.staged(orderId)).at(-1)!;
    expect(last.eventType).toBe('PaymentRejected');
    expect(last.envelope.payload).toMatchObject({ reason: 'ORDER_COMPENSATED', transient: false });
  });

  it('charges once, answers a retried charge and a repeated refund the same, and records nothing when the provider does not answer', async () => {
    const run = (m: PaymentCommand) => h.inTx((tx) => payments.handleMany([m], tx));
    const chargePayment = (orderId: string) =>
      newEnvelope('ChargePayment', orderId, { amount: 10, currency: 'EUR', customerId: 'cust-42', attempt: 1 }, { correlationId: `corr-${orderId}` });
    const refundPayment = (orderId: string) => newEnvelope('RefundPayment', orderId, { reason: 'SHIPPING_FAILED' }, { correlationId: `corr-${orderId}` });
    const charged = randomUUID();
    await run(chargePayment(charged));
    await run(chargePayment(charged)); // a retry, answered the same
    await run(refundPayment(charged));
    await run(refundPayment(charged));
    expect(await rows(charged)).toEqual([expect.objectContaining({ status: 'REFUNDED', refunded_amount: 10 })]);
    expect((await h.staged(charged)).map((s) => s.eventType)).toEqual(['PaymentCharged', 'PaymentCharged', 'PaymentRefunded', 'PaymentRefunded']);
    const declined = randomUUID();
    simulator.configure({ declineRate: 1 });
    await run(chargePayment(declined));
    expect((await rows(declined))[0].status).toBe('DECLINED');
    const unanswered = randomUUID();
    simulator.configure({ declineRate: 0, noAnswerRate: 1 });
    await run(chargePayment(unanswered)); // no answer: nothing recorded, nothing sent
    expect(await rows(unanswered)).toEqual([]);
    expect(await h.staged(unanswered)).toEqual([]);
  });

  it('answers a refund with nothing to refund (no charge, or a declined one) with paymentId null, amount 0', async () => {
    const none = randomUUID();
    await refund(none);
    const declined = randomUUID();
    simulator.configure({ declineRate: 1 });
    await charge(declined);
    await refund(declined);
    expect((await rows(declined))[0].status).toBe('DECLINED');
    for (const orderId of [none, declined]) {
      const last = (await h.staged(orderId)).at(-1)!;
      expect(last.eventType).toBe('PaymentRefunded');
      expect(last.envelope.payload).toEqual({ paymentId: null, amount: 0 });
    }
  });
  describe('a batch of commands in one transaction (handleMany)', () => {
    const chargePayment = (orderId: string, amount = 10, attempt = 1) =>
      newEnvelope('ChargePayment', orderId, { amount, currency: 'EUR', customerId: 'cust-42', attempt }, { correlationId: `corr-${orderId}` });
    const refundPayment = (orderId: string) => newEnvelope('RefundPayment', orderId, { reason: 'SHIPPING_FAILED' }, { correlationId: `corr-${orderId}` });
    const many = (messages: PaymentCommand[]) => h.inTx((tx) => payments.handleMany(messages, tx));

    it('charges several orders in one batch, and a retry in the same batch answers with the first charge', async () => {
      const [o1, o2, o3] = [randomUUID(), randomUUID(), randomUUID()];
      const first = chargePayment(o1, 12.5);
      const retry = chargePayment(o1, 12.5, 2);
      await many([first, chargePayment(o2, 20), retry, chargePayment(o3, 7.25)]);
      for (const [orderId, amount] of [
        [o1, 12.5],
        [o2, 20],
        [o3, 7.25],
      ] as const) {
        const all = await rows(orderId);
        expect(all).toHaveLength(1);
        expect(all[0]).toMatchObject({ amount, status: 'CHARGED', customer_id: 'cust-42' });
        const replies = await h.staged(orderId);
        expect(replies.every((r) => r.eventType === 'PaymentCharged' && r.envelope.payload.paymentId === all[0].id)).toBe(true);
        expect(replies.every((r) => r.envelope.correlationId === `corr-${orderId}`)).toBe(true);
      }
      expect((await h.staged(o1)).map((r) => r.envelope.causationId)).toEqual([first.eventId, retry.eventId]);
    });

    it('refunds a charge made earlier in the same batch, and answers a charge after it with a rejection', async () => {
      const orderId = randomUUID();
      await many([chargePayment(orderId, 30), refundPayment(orderId), refundPayment(orderId), chargePayment(orderId, 30, 2)]);
      expect(await rows(orderId)).toEqual([expect.objectContaining({ status: 'REFUNDED', amount: 30, refunded_amount: 30 })]);
      const replies = await h.staged(orderId);
      expect(replies.map((r) => r.eventType)).toEqual(['PaymentCharged', 'PaymentRefunded', 'PaymentRefunded', 'PaymentRejected']);
      expect(replies[1].envelope.payload).toEqual({ paymentId: replies[0].envelope.payload.paymentId, amount: 30 });
      expect(replies[2].envelope.payload).toEqual(replies[1].envelope.payload);
    });

    it('refunds charges read from the database (locked) next to new charges, in one batch', async () => {
      const [paid, fresh] = [randomUUID(), randomUUID()];
      await charge(paid, 15);
      await many([refundPayment(paid), chargePayment(fresh, 5)]);
      expect((await rows(paid))[0]).toMatchObject({ status: 'REFUNDED', refunded_amount: 15 });
      expect((await rows(fresh))[0]).toMatchObject({ status: 'CHARGED', amount: 5 });
    });

    it('draws one decision per command, in order, and stages each reply with its own delay', async () => {
      const [o1, o2, o3, o4] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      const decide = jest
        .spyOn(simulator, 'decide')
        .mockReturnValueOnce({ outcome: 'charge', delayMs: 900 })
        .mockReturnValueOnce({ outcome: 'decline', delayMs: 300 })
        .mockReturnValueOnce({ outcome: 'noAnswer', delayMs: 0 })
        .mockReturnValueOnce({ outcome: 'unavailable', delayMs: 600 });
      const latency = jest.spyOn(simulator, 'latency').mockReturnValueOnce(1500);
      try {
        const started = Date.now();
        await many([chargePayment(o1), chargePayment(o2), chargePayment(o3), refundPayment(o1), chargePayment(o4)]);
        const finished = Date.now();
        expect(decide).toHaveBeenCalledTimes(4);
        expect(latency).toHaveBeenCalledTimes(1);
        const [s1, s2, s3, s4] = [await h.staged(o1), await h.staged(o2), await h.staged(o3), await h.staged(o4)];
        expect(s1.map((s) => s.eventType)).toEqual(['PaymentCharged', 'PaymentRefunded']);
        expectDelay(s1[0], started, finished, 900);
        expectDelay(s1[1], started, finished, 1500);
        expect(s2.map((s) => s.envelope.payload)).toEqual([expect.objectContaining({ reason: 'PAYMENT_DECLINED', transient: false })]);
        expectDelay(s2[0], started, finished, 300);
        expect(s3).toEqual([]);
        expect(s4.map((s) => s.envelope.payload)).toEqual([expect.objectContaining({ reason: 'PAYMENT_UNAVAILABLE', transient: true })]);
        expectDelay(s4[0], started, finished, 600);
        expect((await rows(o2))[0].status).toBe('DECLINED');
        expect(await rows(o3)).toEqual([]);
        expect(await rows(o4)).toEqual([]);
      } finally {
        decide.mockRestore();
        latency.mockRestore();
      }
    });
  });
});
