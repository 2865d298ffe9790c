import { CANCELLABLE_STATUSES, CLOSED_STATUSES, ORDER_STATUSES, type FailureReason, type OrderStatus } from '../../../src/contracts/order-status.js';
import {
  backoffMs,
  decide,
  decideFor,
  endedAttempt,
  type SagaAction,
  type SagaEvent,
  type SagaPolicy,
  type SagaStep,
  type StepState,
} from '../../../src/process/orders/order-saga.js';

/** Distinct figures per step, so a test sees which step's policy was used. */
const policy: SagaPolicy = {
  inventory: { timeoutMs: 5000, maxAttempts: 3 },
  payment: { timeoutMs: 6000, maxAttempts: 2 },
  shipping: { timeoutMs: 7000, maxAttempts: 1 },
  compensationMaxAttempts: 4,
  compensationTimeoutMs: 9000,
  retryBaseMs: 500,
  retryMaxMs: 10000,
};

/** Random source for decisions that must not draw (a draw fails the test). */
const noRandom = (): number => {
  throw new Error('unexpected random draw');
};
const half = (): number => 0.5;

function waiting(step: StepState['step'], attempt: number, commandEventId: string | null = `cmd-${step}-${attempt}`): StepState {
  return { step, state: 'WAITING', attempt, commandEventId };
}
function retrying(step: StepState['step'], attempt: number): StepState {
  return { step, state: 'RETRY', attempt, commandEventId: `cmd-${step}-${attempt}` };
}

const otherStatuses = (status: OrderStatus): OrderStatus[] => ORDER_STATUSES.filter((s) => s !== status);

/** The successes that a failed or cancelled order undoes, and the compensation that undoes each. */
const UNDONE_BY: Partial<Record<SagaEvent['type'], 'release' | 'refund' | 'cancelShipment'>> = {
  StockReserved: 'release',
  PaymentCharged: 'refund',
  ShipmentCreated: 'cancelShipment',
};

describe('order saga state machine (decide)', () => {
  describe('happy path: each event moves the order from its expected status only', () => {
    const cases: Array<{ event: SagaEvent; from: OrderStatus; current?: StepState; actions: SagaAction[] }> = [
      {
        event: { type: 'OrderCreated' },
        from: 'RECEIVED',
        actions: [
          { kind: 'transition', from: 'RECEIVED', to: 'INVENTORY_CHECK_STARTED' },
          { kind: 'send', step: 'inventory', attempt: 1, timeoutMs: 5000 },
        ],
      },
      {
        event: { type: 'StockReserved' },
        from: 'INVENTORY_CHECK_STARTED',
        actions: [
          { kind: 'transition', from: 'INVENTORY_CHECK_STARTED', to: 'INVENTORY_CONFIRMED' },
          { kind: 'finish', step: 'inventory' },
          { kind: 'send', step: 'payment', attempt: 1, timeoutMs: 6000 },
        ],
      },
      {
        event: { type: 'PaymentCharged' },
        from: 'INVENTORY_CONFIRMED',
        actions: [
          { kind: 'transition', from: 'INVENTORY_CONFIRMED', to: 'PAYMENT_COMPLETED' },
          { kind: 'finish', step: 'payment' },
          { kind: 'notify', command: 'OrderValidated' },
        ],
      },
      {
        event: { type: 'OrderValidated' },
        from: 'PAYMENT_COMPLETED',
        actions: [
          { kind: 'transition', from: 'PAYMENT_COMPLETED', to: 'SHIPPING_REQUESTED' },
          { kind: 'send', step: 'shipping', attempt: 1, timeoutMs: 7000 },
        ],
      },
      {
        event: { type: 'ShipmentCreated' },
        from: 'SHIPPING_REQUESTED',
        actions: [
          { kind: 'transition', from: 'SHIPPING_REQUESTED', to: 'SHIPPED' },
          { kind: 'finish', step: 'shipping' },
          { kind: 'notify', command: 'CommitStock' },
        ],
      },
    ];

    describe.each(cases)('$event.type', ({ event, from, actions }) => {
      it(`from ${from}: transition and next command`, () => {
        expect(decide(from, event, undefined, policy, noRandom)).toEqual(actions);
      });

      it.each(otherStatuses(from).filter((s) => !(UNDONE_BY[event.type] && CLOSED_STATUSES.has(s))))('from %s: no action (late, duplicate or out of order)', (status) => {
        expect(decide(status, event, undefined, policy, noRandom)).toEqual([]);
      });
    });
  });

  describe('a late success on a failed or cancelled order is undone', () => {
    const closed = [...CLOSED_STATUSES];
    describe.each(Object.entries(UNDONE_BY))('%s', (type, compensation) => {
      it.each(closed)('in %s: sends the compensation', (status) => {
        expect(decide(status, { type } as SagaEvent, undefined, policy, noRandom)).toEqual([{ kind: 'send', step: compensation, attempt: 1, timeoutMs: 9000 }]);
      });

      it.each(closed)('in %s with the compensation already under way: nothing more', (status) => {
        expect(decide(status, { type } as SagaEvent, waiting(compensation, 2), policy, noRandom)).toEqual([]);
      });
    });

    it('SHIPPED: a duplicate ShipmentCreated changes nothing', () => {
      expect(decide('SHIPPED', { type: 'ShipmentCreated' }, undefined, policy, noRandom)).toEqual([]);
    });
  });

  describe('business rejection: failure status with the reason, and the compensations of the step', () => {
    const cases: Array<{ event: SagaEvent; from: OrderStatus; current: StepState; actions: SagaAction[] }> = [
      {
        event: { type: 'StockRejected', reason: 'OUT_OF_STOCK', transient: false, causationId: 'cmd-inventory-1' },
        from: 'INVENTORY_CHECK_STARTED',
        current: waiting('inventory', 1),
        actions: [
          { kind: 'transition', from: 'INVENTORY_CHECK_STARTED', to: 'INVENTORY_FAILED', reason: 'OUT_OF_STOCK' },
          { kind: 'finish', step: 'inventory' },
          { kind: 'send', step: 'release', attempt: 1, timeoutMs: 9000 },
        ],
      },
      {
        event: { type: 'PaymentRejected', reason: 'PAYMENT_DECLINED', transient: false, causationId: 'cmd-payment-1' },
        from: 'INVENTORY_CONFIRMED',
        current: waiting('payment', 1),
        actions: [
          { kind: 'transition', from: 'INVENTORY_CONFIRMED', to: 'PAYMENT_FAILED', reason: 'PAYMENT_DECLINED' },
          { kind: 'finish', step: 'payment' },
          { kind: 'send', step: 'release', attempt: 1, timeoutMs: 9000 },
          { kind: 'send', step: 'refund', attempt: 1, timeoutMs: 9000 },
        ],
      },
      {
        event: { type: 'ShipmentRejected', reason: 'CARRIER_REJECTED', transient: false, causationId: 'cmd-shipping-1' },
        from: 'SHIPPING_REQUESTED',
        current: waiting('shipping', 1),
        actions: [
          { kind: 'transition', from: 'SHIPPING_REQUESTED', to: 'SHIPPING_FAILED', reason: 'CARRIER_REJECTED' },
          { kind: 'finish', step: 'shipping' },
          { kind: 'send', step: 'cancelShipment', attempt: 1, timeoutMs: 9000 },
          { kind: 'send', step: 'refund', attempt: 1, timeoutMs: 9000 },
          { kind: 'send', step: 'release', attempt: 1, timeoutMs: 9000 },
        ],
      },
    ];

    describe.each(cases)('$event.type ($event.reason)', ({ event, from, current, actions }) => {
      it(`from ${from}: fails at once, without retrying`, () => {
        expect(decide(from, event, current, policy, noRandom)).toEqual(actions);
      });

      it.each(otherStatuses(from))('from %s: no action', (status) => {
        expect(decide(status, event, current, policy, noRandom)).toEqual([]);
      });
    });

    it('fails even when the business rejection comes on a step that has attempts left', () => {
      const actions = decide('INVENTORY_CHECK_STARTED', { type: 'StockRejected', reason: 'UNKNOWN_PRODUCT', transient: false }, waiting('inventory', 1), policy, noRandom);
      expect(actions[0]).toEqual({ kind: 'transition', from: 'INVENTORY_CHECK_STARTED', to: 'INVENTORY_FAILED', reason: 'UNKNOWN_PRODUCT' });
    });
  });

  describe('transient rejection', () => {
    const steps = [
      { step: 'inventory', type: 'StockRejected', status: 'INVENTORY_CHECK_STARTED', failed: 'INVENTORY_FAILED', reason: 'INVENTORY_UNAVAILABLE', compensations: ['release'] },
      { step: 'payment', type: 'PaymentRejected', status: 'INVENTORY_CONFIRMED', failed: 'PAYMENT_FAILED', reason: 'PAYMENT_UNAVAILABLE', compensations: ['release', 'refund'] },
      {
        step: 'shipping',
        type: 'ShipmentRejected',
        status: 'SHIPPING_REQUESTED',
        failed: 'SHIPPING_FAILED',
        reason: 'CARRIER_UNAVAILABLE',
        compensations: ['cancelShipment', 'refund', 'release'],
      },
    ] as const;

    const rejection = (type: (typeof steps)[number]['type'], reason: FailureReason, causationId?: string): SagaEvent => ({
      type,
      reason,
      transient: true,
      ...(causationId ? { causationId } : {}),
    });

    it.each([
      { attempt: 1, delayMs: 375 }, // ceiling 500: 250 + 0.5 × 250
      { attempt: 2, delayMs: 750 }, // ceiling 1000
    ])('inventory attempt $attempt of 3: retries later with backoff ($delayMs ms at random 0.5)', ({ attempt, delayMs }) => {
      const current = waiting('inventory', attempt);
      expect(decide('INVENTORY_CHECK_STARTED', rejection('StockRejected', 'INVENTORY_UNAVAILABLE', current.commandEventId!), current, policy, half)).toEqual([
        { kind: 'retryLater', step: 'inventory', attempt, delayMs },
      ]);
    });

    it('payment attempt 1 of 2: retries later', () => {
      const current = waiting('payment', 1);
      expect(decide('INVENTORY_CONFIRMED', rejection('PaymentRejected', 'PAYMENT_UNAVAILABLE', current.commandEventId!), current, policy, () => 0)).toEqual([
        { kind: 'retryLater', step: 'payment', attempt: 1, delayMs: 250 },
      ]);
    });

    it.each(steps.map((s) => ({ ...s, attempt: policy[s.step].maxAttempts })))(
      '$step: attempts exhausted ($attempt) → $failed with the reason and compensations $compensations',
      ({ step, type, status, failed, reason, compensations, attempt }) => {
        const current = waiting(step, attempt);
        expect(decide(status, rejection(type, reason, current.commandEventId!), current, policy, noRandom)).toEqual([
          { kind: 'transition', from: status, to: failed, reason },
          { kind: 'finish', step },
          ...compensations.map((c) => ({ kind: 'send', step: c, attempt: 1, timeoutMs: 9000 })),
        ]);
      },
    );

    it('keeps the reason the module gave when attempts are exhausted', () => {
      const current = waiting('inventory', 3);
      const [transition] = decide('INVENTORY_CHECK_STARTED', rejection('StockRejected', 'STEP_TIMED_OUT', current.commandEventId!), current, policy, noRandom);
      expect(transition).toEqual({ kind: 'transition', from: 'INVENTORY_CHECK_STARTED', to: 'INVENTORY_FAILED', reason: 'STEP_TIMED_OUT' });
    });

    it.each(steps)('$step: a late answer to an earlier command (causationId ≠ current command) is ignored', ({ step, type, status, reason }) => {
      const current = waiting(step, policy[step].maxAttempts, 'cmd-current');
      expect(decide(status, rejection(type, reason, 'cmd-earlier'), current, policy, noRandom)).toEqual([]);
    });

    it('is counted when it carries no causationId, or the step recorded no command id', () => {
      expect(decide('INVENTORY_CHECK_STARTED', rejection('StockRejected', 'INVENTORY_UNAVAILABLE'), waiting('inventory', 1), policy, half)).toEqual([
        { kind: 'retryLater', step: 'inventory', attempt: 1, delayMs: 375 },
      ]);
      expect(decide('INVENTORY_CHECK_STARTED', rejection('StockRejected', 'INVENTORY_UNAVAILABLE', 'cmd-x'), waiting('inventory', 1, null), policy, half)).toEqual([
        { kind: 'retryLater', step: 'inventory', attempt: 1, delayMs: 375 },
      ]);
    });

    it('is ignored when the step is already waiting for its retry, or has no row', () => {
      expect(decide('INVENTORY_CHECK_STARTED', rejection('StockRejected', 'INVENTORY_UNAVAILABLE', 'cmd-inventory-1'), retrying('inventory', 1), policy, noRandom)).toEqual([]);
      expect(decide('INVENTORY_CHECK_STARTED', rejection('StockRejected', 'INVENTORY_UNAVAILABLE', 'cmd-inventory-1'), undefined, policy, noRandom)).toEqual([]);
    });

    it.each(steps)('$step: ignored outside $status', ({ step, type, status, reason }) => {
      for (const other of otherStatuses(status)) {
        expect(decide(other, rejection(type, reason, `cmd-${step}-1`), waiting(step, 1), policy, noRandom)).toEqual([]);
      }
    });
  });

  describe('StepDue (deadline or backoff passed)', () => {
    it('RETRY: sends the next attempt with the step timeout', () => {
      expect(decide('INVENTORY_CHECK_STARTED', { type: 'StepDue', step: 'inventory' }, retrying('inventory', 1), policy, noRandom)).toEqual([
        { kind: 'send', step: 'inventory', attempt: 2, timeoutMs: 5000 },
      ]);
      expect(decide('INVENTORY_CONFIRMED', { type: 'StepDue', step: 'payment' }, retrying('payment', 1), policy, noRandom)).toEqual([
        { kind: 'send', step: 'payment', attempt: 2, timeoutMs: 6000 },
      ]);
    });

    it('WAITING past the deadline with attempts left: sends the next attempt', () => {
      expect(decide('INVENTORY_CHECK_STARTED', { type: 'StepDue', step: 'inventory' }, waiting('inventory', 2), policy, noRandom)).toEqual([
        { kind: 'send', step: 'inventory', attempt: 3, timeoutMs: 5000 },
      ]);
    });

    it.each([
      { step: 'inventory', status: 'INVENTORY_CHECK_STARTED', failed: 'INVENTORY_FAILED', compensations: ['release'] },
      { step: 'payment', status: 'INVENTORY_CONFIRMED', failed: 'PAYMENT_FAILED', compensations: ['release', 'refund'] },
      { step: 'shipping', status: 'SHIPPING_REQUESTED', failed: 'SHIPPING_FAILED', compensations: ['cancelShipment', 'refund', 'release'] },
    ] as const)('$step WAITING with attempts exhausted: $failed (STEP_TIMED_OUT) and compensations', ({ step, status, failed, compensations }) => {
      expect(decide(status, { type: 'StepDue', step }, waiting(step, policy[step].maxAttempts), policy, noRandom)).toEqual([
        { kind: 'transition', from: status, to: failed, reason: 'STEP_TIMED_OUT' },
        { kind: 'finish', step },
        ...compensations.map((c) => ({ kind: 'send', step: c, attempt: 1, timeoutMs: 9000 })),
      ]);
    });

    it.each(otherStatuses('INVENTORY_CHECK_STARTED'))('inventory step due after the order moved on to %s: finishes the step', (status) => {
      expect(decide(status, { type: 'StepDue', step: 'inventory' }, waiting('inventory', 3), policy, noRandom)).toEqual([{ kind: 'finish', step: 'inventory' }]);
    });

    it('shipping step due after the order moved on: finishes the step, even a RETRY one', () => {
      expect(decide('SHIPPED', { type: 'StepDue', step: 'shipping' }, retrying('shipping', 1), policy, noRandom)).toEqual([{ kind: 'finish', step: 'shipping' }]);
    });

    it('no step row: nothing to do', () => {
      expect(decide('INVENTORY_CHECK_STARTED', { type: 'StepDue', step: 'inventory' }, undefined, policy, noRandom)).toEqual([]);
      expect(decide('PAYMENT_FAILED', { type: 'StepDue', step: 'refund' }, undefined, policy, noRandom)).toEqual([]);
    });

    it.each([
      { step: 'release', status: 'INVENTORY_FAILED', attempt: 1, timeoutMs: 18000 },
      { step: 'refund', status: 'PAYMENT_FAILED', attempt: 2, timeoutMs: 36000 },
      { step: 'cancelShipment', status: 'SHIPPING_FAILED', attempt: 3, timeoutMs: 72000 },
    ] as const)('compensation $step due in $status at attempt $attempt: resent, waiting twice as long', ({ step, status, attempt, timeoutMs }) => {
      expect(decide(status, { type: 'StepDue', step }, waiting(step, attempt), policy, noRandom)).toEqual([{ kind: 'send', step, attempt: attempt + 1, timeoutMs }]);
    });

    it('a compensation waits at most 10 × its base timeout per attempt', () => {
      const many = { ...policy, compensationMaxAttempts: 50 };
      expect(decide('PAYMENT_FAILED', { type: 'StepDue', step: 'refund' }, waiting('refund', 20), many, noRandom)).toEqual([
        { kind: 'send', step: 'refund', attempt: 21, timeoutMs: 90000 },
      ]);
    });

    it('a compensation out of attempts is given up (set aside for operators), not resent', () => {
      expect(decide('SHIPPING_FAILED', { type: 'StepDue', step: 'release' }, waiting('release', policy.compensationMaxAttempts), policy, noRandom)).toEqual([
        { kind: 'giveUp', step: 'release', attempt: policy.compensationMaxAttempts },
      ]);
    });

    it('a compensation set aside is never due again', () => {
      expect(decide('SHIPPING_FAILED', { type: 'StepDue', step: 'release' }, { ...waiting('release', 8), state: 'STUCK' }, policy, noRandom)).toEqual([]);
    });
  });

  describe('CompensationDone', () => {
    it.each(['release', 'refund', 'cancelShipment'] as const)('%s: finishes the compensation step', (step) => {
      expect(decide('PAYMENT_FAILED', { type: 'CompensationDone', step }, waiting(step, 2), policy, noRandom)).toEqual([{ kind: 'finish', step }]);
    });

    it('a duplicate, with the step already finished, does nothing', () => {
      expect(decide('PAYMENT_FAILED', { type: 'CompensationDone', step: 'refund' }, undefined, policy, noRandom)).toEqual([]);
    });
  });

  describe('CancellationRequested: CANCELLED (CANCELLED_BY_CLIENT), the open step ended, what may exist undone', () => {
    const cancelled = (from: OrderStatus): SagaAction => ({ kind: 'transition', from, to: 'CANCELLED', reason: 'CANCELLED_BY_CLIENT' });
    const release: SagaAction = { kind: 'send', step: 'release', attempt: 1, timeoutMs: 9000 };
    const refund: SagaAction = { kind: 'send', step: 'refund', attempt: 1, timeoutMs: 9000 };
    const cases: Array<[OrderStatus, SagaAction[]]> = [
      ['RECEIVED', [cancelled('RECEIVED')]],
      ['INVENTORY_CHECK_STARTED', [cancelled('INVENTORY_CHECK_STARTED'), { kind: 'finish', step: 'inventory' }, release]],
      ['INVENTORY_CONFIRMED', [cancelled('INVENTORY_CONFIRMED'), { kind: 'finish', step: 'payment' }, release, refund]],
      ['PAYMENT_COMPLETED', [cancelled('PAYMENT_COMPLETED'), release, refund]],
    ];

    it.each(cases)('from %s', (status, actions) => {
      expect(decide(status, { type: 'CancellationRequested' }, undefined, policy, noRandom)).toEqual(actions);
    });

    it('covers every cancellable status', () => {
      expect(cases.map(([status]) => status).sort()).toEqual([...CANCELLABLE_STATUSES].sort());
    });

    it.each(ORDER_STATUSES.filter((s) => !CANCELLABLE_STATUSES.has(s)))('in %s: nothing (already cancelled, shipping or ended)', (status) => {
      expect(decide(status, { type: 'CancellationRequested' }, undefined, policy, noRandom)).toEqual([]);
    });

    describe.each(Object.entries(UNDONE_BY))('a late %s after the cancellation', (type, compensation) => {
      it('is undone by its compensation', () => {
        expect(decide('CANCELLED', { type } as SagaEvent, undefined, policy, noRandom)).toEqual([{ kind: 'send', step: compensation, attempt: 1, timeoutMs: 9000 }]);
      });

      it('with that compensation still under way: nothing more', () => {
        expect(decide('CANCELLED', { type } as SagaEvent, waiting(compensation, 1), policy, noRandom)).toEqual([]);
      });
    });
  });
});

describe('decideFor: an order whose owner asked to cancel it never moves on', () => {
  const requested = (status: OrderStatus) => ({ status, cancelRequested: true });
  const cancelledFrom = (status: OrderStatus) => decide(status, { type: 'CancellationRequested' }, undefined, policy, noRandom);
  const acting: Array<[string, OrderStatus, SagaEvent, StepState | undefined]> = [
    ['OrderCreated', 'RECEIVED', { type: 'OrderCreated' }, undefined],
    ['StockReserved', 'INVENTORY_CHECK_STARTED', { type: 'StockReserved' }, undefined],
    ['a business StockRejected', 'INVENTORY_CHECK_STARTED', { type: 'StockRejected', reason: 'OUT_OF_STOCK', transient: false }, waiting('inventory', 1)],
    ['a transient StockRejected', 'INVENTORY_CHECK_STARTED', { type: 'StockRejected', reason: 'INVENTORY_UNAVAILABLE', transient: true }, waiting('inventory', 1)],
    ['the inventory deadline', 'INVENTORY_CHECK_STARTED', { type: 'StepDue', step: 'inventory' }, waiting('inventory', 3)],
    ['PaymentCharged', 'INVENTORY_CONFIRMED', { type: 'PaymentCharged' }, undefined],
    ['a PaymentRejected', 'INVENTORY_CONFIRMED', { type: 'PaymentRejected', reason: 'PAYMENT_DECLINED', transient: false }, waiting('payment', 1)],
    ['OrderValidated (instead of SHIPPING_REQUESTED)', 'PAYMENT_COMPLETED', { type: 'OrderValidated' }, undefined],
  ];

  it.each(acting)('%s in %s cancels it instead', (_what, status, event, current) => {
    expect(decideFor(requested(status), event, current, policy, half)).toEqual(cancelledFrom(status));
  });

  it('without a request, the same events act as usual', () => {
    for (const [, status, event, current] of acting) {
      expect(decideFor({ status, cancelRequested: false }, event, current, policy, half)).toEqual(decide(status, event, current, policy, half));
    }
  });

  it('a late or duplicate message that changes nothing still changes nothing', () => {
    expect(decideFor(requested('INVENTORY_CONFIRMED'), { type: 'StockReserved' }, undefined, policy, noRandom)).toEqual([]);
  });

  it('once CANCELLED, a late success is undone as on any closed order', () => {
    expect(decideFor(requested('CANCELLED'), { type: 'PaymentCharged' }, undefined, policy, noRandom)).toEqual([{ kind: 'send', step: 'refund', attempt: 1, timeoutMs: 9000 }]);
  });
});

describe('backoffMs', () => {
  const limits = { retryBaseMs: 500, retryMaxMs: 10000 };

  it.each([
    { attempt: 1, min: 250, max: 500 },
    { attempt: 2, min: 500, max: 1000 },
    { attempt: 3, min: 1000, max: 2000 },
    { attempt: 5, min: 4000, max: 8000 },
    { attempt: 6, min: 5000, max: 10000 }, // 16000 capped at retryMaxMs
    { attempt: 40, min: 5000, max: 10000 },
    { attempt: 0, min: 250, max: 500 }, // never below the first attempt's window
  ])('attempt $attempt waits between $min and $max ms (equal jitter: the upper half of the ceiling)', ({ attempt, min, max }) => {
    expect(backoffMs(attempt, limits, () => 0)).toBe(min);
    expect(backoffMs(attempt, limits, () => 0.999999)).toBe(max);
    const mid = backoffMs(attempt, limits, () => 0.5);
    expect(mid).toBeGreaterThan(min);
    expect(mid).toBeLessThan(max);
  });

  it('draws exactly one random number per call and is an integer', () => {
    let draws = 0;
    const ms = backoffMs(3, limits, () => {
      draws += 1;
      return 0.3333;
    });
    expect(draws).toBe(1);
    expect(Number.isInteger(ms)).toBe(true);
  });

  it('never exceeds retryMaxMs, even when the base alone is larger', () => {
    expect(backoffMs(1, { retryBaseMs: 20000, retryMaxMs: 3000 }, () => 0.999999)).toBe(3000);
  });
});

describe('endedAttempt (what order_flow_saga_step_duration_seconds observes)', () => {
  /** The order's step rows before the event, as the saga service reads them. */
  const rows =
    (...steps: StepState[]) =>
    (step: SagaStep) =>
      steps.find((s) => s.step === step);
  /** decide, then endedAttempt on the same event and rows. */
  const ended = (status: OrderStatus, event: SagaEvent, steps: StepState[], current?: StepState) =>
    endedAttempt(event, decide(status, event, current, policy, half), rows(...steps));

  it('a success applied ends its forward step as succeeded', () => {
    expect(ended('INVENTORY_CHECK_STARTED', { type: 'StockReserved' }, [waiting('inventory', 1)])).toEqual({ step: 'inventory', outcome: 'succeeded' });
    expect(ended('INVENTORY_CONFIRMED', { type: 'PaymentCharged' }, [waiting('payment', 2)])).toEqual({ step: 'payment', outcome: 'succeeded' });
    expect(ended('SHIPPING_REQUESTED', { type: 'ShipmentCreated' }, [waiting('shipping', 1)])).toEqual({ step: 'shipping', outcome: 'succeeded' });
  });

  it('a late success that is only undone, or a duplicate, ends nothing', () => {
    expect(ended('INVENTORY_FAILED', { type: 'StockReserved' }, [])).toBeNull();
    expect(ended('INVENTORY_CONFIRMED', { type: 'StockReserved' }, [])).toBeNull();
  });

  it('a rejection ends the attempt as failed, whether it fails the order or is retried', () => {
    const business = { type: 'PaymentRejected', reason: 'PAYMENT_DECLINED', transient: false } as const;
    expect(ended('INVENTORY_CONFIRMED', business, [waiting('payment', 1)], waiting('payment', 1))).toEqual({ step: 'payment', outcome: 'failed' });
    const transient = { type: 'StockRejected', reason: 'INVENTORY_UNAVAILABLE', transient: true, causationId: 'cmd-inventory-1' } as const;
    expect(ended('INVENTORY_CHECK_STARTED', transient, [waiting('inventory', 1)], waiting('inventory', 1))).toEqual({ step: 'inventory', outcome: 'failed' });
    // An answer to an attempt already given up on changes nothing.
    const late = { ...transient, causationId: 'cmd-inventory-0' };
    expect(ended('INVENTORY_CHECK_STARTED', late, [waiting('inventory', 1)], waiting('inventory', 1))).toBeNull();
  });

  it('a compensation answered ends as succeeded; one no longer open ends nothing', () => {
    expect(ended('PAYMENT_FAILED', { type: 'CompensationDone', step: 'refund' }, [waiting('refund', 1)], waiting('refund', 1))).toEqual({ step: 'refund', outcome: 'succeeded' });
    expect(ended('PAYMENT_FAILED', { type: 'CompensationDone', step: 'refund' }, [])).toBeNull();
  });

  it('a deadline passing on a waiting command ends it as timed_out: resent, failed, or a compensation given up', () => {
    const due = (step: SagaStep) => ({ type: 'StepDue', step }) as const;
    expect(ended('INVENTORY_CHECK_STARTED', due('inventory'), [waiting('inventory', 1)], waiting('inventory', 1))).toEqual({ step: 'inventory', outcome: 'timed_out' });
    expect(ended('SHIPPING_REQUESTED', due('shipping'), [waiting('shipping', 1)], waiting('shipping', 1))).toEqual({ step: 'shipping', outcome: 'timed_out' });
    expect(ended('PAYMENT_FAILED', due('refund'), [waiting('refund', 4)], waiting('refund', 4))).toEqual({ step: 'refund', outcome: 'timed_out' });
  });

  it('a backoff ending, or a step left behind by its order, ends no attempt', () => {
    const due = { type: 'StepDue', step: 'inventory' } as const;
    expect(ended('INVENTORY_CHECK_STARTED', due, [retrying('inventory', 1)], retrying('inventory', 1))).toBeNull();
    expect(ended('INVENTORY_CONFIRMED', due, [waiting('inventory', 1)], waiting('inventory', 1))).toBeNull();
  });

  it('OrderCreated, OrderValidated and CancellationRequested answer no command', () => {
    expect(ended('INVENTORY_CHECK_STARTED', { type: 'CancellationRequested' }, [waiting('inventory', 1)])).toBeNull();
    expect(ended('RECEIVED', { type: 'OrderCreated' }, [])).toBeNull();
    expect(ended('PAYMENT_COMPLETED', { type: 'OrderValidated' }, [])).toBeNull();
  });
});
