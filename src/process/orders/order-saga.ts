/**
 * The order saga as a pure state machine (docs/architecture.md §4): given the order's status, the step it waits on
 * and what just happened, it says what to do. No Nest, TypeORM or Kafka here; the saga service
 * carries the decisions out in one transaction.
 */
import { CLOSED_STATUSES, isCancellable, type CancellableStatus, type FailureReason, type OrderStatus } from '../../contracts/order-status.js';
import { assertUnreachable } from '../../common/assert-unreachable.js';

export type ForwardStep = 'inventory' | 'payment' | 'shipping';
export type CompensationStep = 'release' | 'refund' | 'cancelShipment';
export type SagaStep = ForwardStep | CompensationStep;

/** The command each step sends. */
export type SagaCommand = 'ReserveStock' | 'ChargePayment' | 'ShipmentRequested' | 'ReleaseStock' | 'RefundPayment' | 'CancelShipment' | 'CommitStock' | 'OrderValidated';

export const STEP_COMMAND: Record<SagaStep, SagaCommand> = {
  inventory: 'ReserveStock',
  payment: 'ChargePayment',
  shipping: 'ShipmentRequested',
  release: 'ReleaseStock',
  refund: 'RefundPayment',
  cancelShipment: 'CancelShipment',
};

export function isCompensation(step: SagaStep): step is CompensationStep {
  return step === 'release' || step === 'refund' || step === 'cancelShipment';
}

/** The status during which each forward step is outstanding. */
export const STEP_STATUS: Record<ForwardStep, OrderStatus> = {
  inventory: 'INVENTORY_CHECK_STARTED',
  payment: 'INVENTORY_CONFIRMED',
  shipping: 'SHIPPING_REQUESTED',
};

const FAILED_STATUS: Record<ForwardStep, OrderStatus> = {
  inventory: 'INVENTORY_FAILED',
  payment: 'PAYMENT_FAILED',
  shipping: 'SHIPPING_FAILED',
};

const UNAVAILABLE_REASON: Record<ForwardStep, FailureReason> = {
  inventory: 'INVENTORY_UNAVAILABLE',
  payment: 'PAYMENT_UNAVAILABLE',
  shipping: 'CARRIER_UNAVAILABLE',
};

/** What the compensation of each failure must undo (docs/architecture.md §4). */
const COMPENSATIONS: Record<ForwardStep, CompensationStep[]> = {
  // A reservation may exist if an earlier attempt went through late: release is a no-op otherwise.
  inventory: ['release'],
  // A charge may exist if the answer was lost: refund is a no-op otherwise.
  payment: ['release', 'refund'],
  // A shipment may exist if the answer came late: it is cancelled before the money and stock go back.
  shipping: ['cancelShipment', 'refund', 'release'],
};

/**
 * What a cancellation must close and undo in each cancellable status (docs/architecture.md §4): the
 * forward step still waiting, if any, and every compensation whose effect may exist by now or may land
 * late (a late success on the CANCELLED order is undone again by `undoLate`). Each compensation is a
 * no-op when there is nothing to undo.
 */
const CANCELLATION: Record<CancellableStatus, { open?: ForwardStep; undo: CompensationStep[] }> = {
  RECEIVED: { undo: [] },
  // A reservation may be made (or its answer on its way): release it.
  INVENTORY_CHECK_STARTED: { open: 'inventory', undo: ['release'] },
  // Stock is reserved and a charge may be made.
  INVENTORY_CONFIRMED: { open: 'payment', undo: ['release', 'refund'] },
  PAYMENT_COMPLETED: { undo: ['release', 'refund'] },
};

export interface StepPolicy {
  timeoutMs: number;
  maxAttempts: number;
}

export interface SagaPolicy {
  inventory: StepPolicy;
  payment: StepPolicy;
  shipping: StepPolicy;
  compensationTimeoutMs: number;
  /** Attempts of a compensation before it is set aside for operators (state STUCK). */
  compensationMaxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

/** The step row the order has for the step an event concerns, if any. */
export interface StepState {
  step: SagaStep;
  /** STUCK: a compensation that ran out of attempts, left for an operator (never polled). */
  state: 'WAITING' | 'RETRY' | 'STUCK';
  attempt: number;
  commandEventId: string | null;
}

export type SagaEvent =
  | { type: 'OrderCreated' }
  | { type: 'StockReserved' }
  | { type: 'StockRejected'; reason: FailureReason; transient: boolean; causationId?: string }
  | { type: 'PaymentCharged' }
  | { type: 'PaymentRejected'; reason: FailureReason; transient: boolean; causationId?: string }
  | { type: 'OrderValidated' }
  | { type: 'ShipmentCreated' }
  | { type: 'ShipmentRejected'; reason: FailureReason; transient: boolean; causationId?: string }
  | { type: 'CompensationDone'; step: CompensationStep }
  | { type: 'StepDue'; step: SagaStep }
  /** The owner asked to cancel the order (OrderCancellationRequested). */
  | { type: 'CancellationRequested' };

export type SagaAction =
  | { kind: 'transition'; from: OrderStatus; to: OrderStatus; reason?: FailureReason }
  /** Send the step's command now and wait for the answer until the deadline. */
  | { kind: 'send'; step: SagaStep; attempt: number; timeoutMs: number }
  /** Send a command that expects no answer (fire and forget, still through the outbox). */
  | { kind: 'notify'; command: 'CommitStock' | 'OrderValidated' }
  /** Resend the step's command after a backoff. */
  | { kind: 'retryLater'; step: SagaStep; attempt: number; delayMs: number }
  | { kind: 'finish'; step: SagaStep }
  /** A compensation that kept failing: keep its row, stop retrying, flag it for operators. */
  | { kind: 'giveUp'; step: CompensationStep; attempt: number };

/**
 * Exponential backoff with equal jitter: attempt n waits between half and all of its ceiling,
 * min(max, base × 2^(n−1)), so a retry never comes sooner than half the ceiling.
 */
export function backoffMs(attempt: number, policy: Pick<SagaPolicy, 'retryBaseMs' | 'retryMaxMs'>, random: () => number): number {
  const ceiling = Math.min(policy.retryMaxMs, policy.retryBaseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

function fail(step: ForwardStep, reason: FailureReason, policy: SagaPolicy): SagaAction[] {
  return [
    { kind: 'transition', from: STEP_STATUS[step], to: FAILED_STATUS[step], reason },
    { kind: 'finish', step },
    ...COMPENSATIONS[step].map((c): SagaAction => ({ kind: 'send', step: c, attempt: 1, timeoutMs: compensationTimeoutMs(1, policy) })),
  ];
}

function start(step: ForwardStep, policy: SagaPolicy): SagaAction {
  return { kind: 'send', step, attempt: 1, timeoutMs: policy[step].timeoutMs };
}

/** The order goes from `status` to CANCELLED (CANCELLED_BY_CLIENT): its open step ends, its compensations go out. */
function cancel(status: OrderStatus, policy: SagaPolicy): SagaAction[] {
  if (!isCancellable(status)) return [];
  const { open, undo } = CANCELLATION[status];
  return [
    { kind: 'transition', from: status, to: 'CANCELLED', reason: 'CANCELLED_BY_CLIENT' },
    ...(open ? [{ kind: 'finish', step: open } as const] : []),
    ...undo.map((c): SagaAction => ({ kind: 'send', step: c, attempt: 1, timeoutMs: compensationTimeoutMs(1, policy) })),
  ];
}

/** How long attempt `attempt` of a compensation waits for its answer: doubling, at most 10 × the base. */
export function compensationTimeoutMs(attempt: number, policy: Pick<SagaPolicy, 'compensationTimeoutMs'>): number {
  return policy.compensationTimeoutMs * Math.min(10, 2 ** Math.max(0, attempt - 1));
}

/** How long attempt `attempt` of `step` waits for its answer. */
export function stepTimeoutMs(step: SagaStep, attempt: number, policy: SagaPolicy): number {
  return isCompensation(step) ? compensationTimeoutMs(attempt, policy) : policy[step].timeoutMs;
}

/**
 * A success that arrives after the saga gave up on the order (or it was cancelled) is undone: the
 * compensation is sent again unless one is already under way (`current` is that compensation's step).
 */
function undoLate(status: OrderStatus, compensation: CompensationStep, current: StepState | undefined, policy: SagaPolicy): SagaAction[] {
  if (!CLOSED_STATUSES.has(status) || current) return [];
  return [{ kind: 'send', step: compensation, attempt: 1, timeoutMs: compensationTimeoutMs(1, policy) }];
}

/** A business rejection fails at once; a transient one is retried with backoff until attempts run out. */
function rejected(
  step: ForwardStep,
  e: { reason: FailureReason; transient: boolean; causationId?: string },
  current: StepState | undefined,
  policy: SagaPolicy,
  random: () => number,
): SagaAction[] {
  if (!e.transient) return fail(step, e.reason, policy);
  // A late answer to an attempt we already gave up on changes nothing.
  if (!current || current.state !== 'WAITING' || (current.commandEventId && e.causationId && current.commandEventId !== e.causationId)) return [];
  if (current.attempt >= policy[step].maxAttempts) return fail(step, e.reason ?? UNAVAILABLE_REASON[step], policy);
  return [{ kind: 'retryLater', step, attempt: current.attempt, delayMs: backoffMs(current.attempt, policy, random) }];
}

/**
 * What each forward step's success does while the order waits on it: the status it moves to and what
 * comes next. Late, on a failed or cancelled order, its compensation (`undo`) takes it back.
 */
const SUCCEEDED: Record<
  'StockReserved' | 'PaymentCharged' | 'ShipmentCreated',
  { step: ForwardStep; to: OrderStatus; undo: CompensationStep; next: (policy: SagaPolicy) => SagaAction }
> = {
  StockReserved: { step: 'inventory', to: 'INVENTORY_CONFIRMED', undo: 'release', next: (policy) => start('payment', policy) },
  PaymentCharged: { step: 'payment', to: 'PAYMENT_COMPLETED', undo: 'refund', next: () => ({ kind: 'notify', command: 'OrderValidated' }) },
  ShipmentCreated: { step: 'shipping', to: 'SHIPPED', undo: 'cancelShipment', next: () => ({ kind: 'notify', command: 'CommitStock' }) },
};

/** The forward step each rejection answers. */
const REJECTED_STEP: Record<'StockRejected' | 'PaymentRejected' | 'ShipmentRejected', ForwardStep> = {
  StockRejected: 'inventory',
  PaymentRejected: 'payment',
  ShipmentRejected: 'shipping',
};

/**
 * Decides what an event means for an order in `status`. An event that does not fit the status
 * (late, duplicate, out of order) yields no action: transitions are guarded by their source status.
 * The one exception is a late success on a failed or cancelled order, which is undone. `current` is
 * the order's row for the step the event concerns: for a success, the compensation that would undo it.
 */
export function decide(status: OrderStatus, event: SagaEvent, current: StepState | undefined, policy: SagaPolicy, random: () => number = Math.random): SagaAction[] {
  switch (event.type) {
    case 'OrderCreated':
      if (status !== 'RECEIVED') return [];
      return [{ kind: 'transition', from: 'RECEIVED', to: 'INVENTORY_CHECK_STARTED' }, start('inventory', policy)];
    case 'StockReserved':
    case 'PaymentCharged':
    case 'ShipmentCreated': {
      const { step, to, undo, next } = SUCCEEDED[event.type];
      const from = STEP_STATUS[step];
      if (status !== from) return undoLate(status, undo, current, policy);
      return [{ kind: 'transition', from, to }, { kind: 'finish', step }, next(policy)];
    }
    case 'OrderValidated':
      if (status !== 'PAYMENT_COMPLETED') return [];
      return [{ kind: 'transition', from: 'PAYMENT_COMPLETED', to: 'SHIPPING_REQUESTED' }, start('shipping', policy)];
    case 'StockRejected':
    case 'PaymentRejected':
    case 'ShipmentRejected': {
      // Only while the order waits on that step.
      const step = REJECTED_STEP[event.type];
      return status === STEP_STATUS[step] ? rejected(step, event, current, policy, random) : [];
    }
    case 'CompensationDone':
      return current ? [{ kind: 'finish', step: event.step }] : [];
    case 'StepDue':
      return due(status, event.step, current, policy);
    case 'CancellationRequested':
      return cancel(status, policy);
    default:
      return assertUnreachable(event, 'saga event');
  }
}

/**
 * `decide` for an order as the saga has it locked: once its owner asked to cancel it
 * (`cancelRequested`, set by the API only in a cancellable status), anything that would act on it
 * while it is still cancellable (move it on, fail it, retry or resend a step) cancels it instead, so
 * it never reaches SHIPPING_REQUESTED, whichever comes first: the cancellation message or another.
 */
export function decideFor(
  order: { status: OrderStatus; cancelRequested: boolean },
  event: SagaEvent,
  current: StepState | undefined,
  policy: SagaPolicy,
  random: () => number = Math.random,
): SagaAction[] {
  const actions = decide(order.status, event, current, policy, random);
  if (!order.cancelRequested || !actions.length || !isCancellable(order.status)) return actions;
  return cancel(order.status, policy);
}

/** The scheduler found a step past its deadline (or its backoff). */
function due(status: OrderStatus, step: SagaStep, current: StepState | undefined, policy: SagaPolicy): SagaAction[] {
  if (!current || current.state === 'STUCK') return [];
  if (isCompensation(step)) {
    // Retried with a growing wait until done, or until the attempts run out: then an operator decides.
    if (current.attempt >= policy.compensationMaxAttempts) return [{ kind: 'giveUp', step, attempt: current.attempt }];
    return [{ kind: 'send', step, attempt: current.attempt + 1, timeoutMs: compensationTimeoutMs(current.attempt + 1, policy) }];
  }
  if (status !== STEP_STATUS[step]) return [{ kind: 'finish', step }];
  if (current.state === 'RETRY') return [{ kind: 'send', step, attempt: current.attempt + 1, timeoutMs: policy[step].timeoutMs }];
  if (current.attempt < policy[step].maxAttempts) return [{ kind: 'send', step, attempt: current.attempt + 1, timeoutMs: policy[step].timeoutMs }];
  return fail(step, 'STEP_TIMED_OUT', policy);
}

/** How an attempt of a step ended: its reply applied (a success or a rejection), or its deadline passed. */
export type AttemptOutcome = 'succeeded' | 'failed' | 'timed_out';

/**
 * The attempt of a step that `event` ended, given the `actions` decided for it and the order's step
 * rows before it (`stepOf`). None when the event changed nothing (late, duplicate), when a late success
 * is only undone, or when a backoff ended or a step was cleaned up (no command was waiting).
 */
export function endedAttempt(event: SagaEvent, actions: SagaAction[], stepOf: (step: SagaStep) => StepState | undefined): { step: SagaStep; outcome: AttemptOutcome } | null {
  if (!actions.length) return null;
  switch (event.type) {
    case 'StockReserved':
    case 'PaymentCharged':
    case 'ShipmentCreated':
      return actions.some((a) => a.kind === 'transition') ? { step: SUCCEEDED[event.type].step, outcome: 'succeeded' } : null;
    case 'CompensationDone':
      return { step: event.step, outcome: 'succeeded' };
    case 'StockRejected':
    case 'PaymentRejected':
    case 'ShipmentRejected':
      return { step: REJECTED_STEP[event.type], outcome: 'failed' };
    case 'StepDue': {
      const waited = stepOf(event.step)?.state === 'WAITING';
      return waited && actions.some((a) => a.kind !== 'finish') ? { step: event.step, outcome: 'timed_out' } : null;
    }
    case 'OrderCreated':
    case 'OrderValidated':
    case 'CancellationRequested':
      return null;
    default:
      return assertUnreachable(event, 'saga event');
  }
}
