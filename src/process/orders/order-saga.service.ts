import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { EntityManager } from 'typeorm';
import { sagaConfig } from '../../config/saga.config.js';
import { newEnvelope, type Envelope } from '../../contracts/envelope.js';
import { TERMINAL_STATUSES, type FailureReason, type OrderStatus } from '../../contracts/order-status.js';
import { fulfillmentEvent, OrderEventRepository, type OrderEventValues } from '../../order-store/order-event.repository.js';
import { isFinalShipmentStatus, mergePatches, type OrderChange, type OrderPatch } from '../../order-store/order-patch.js';
import { OrderReadCache } from '../../order-store/order-read-cache.js';
import { OrderRepository } from '../../order-store/order.repository.js';
import type { HistoryValues, LockedOrder, OrderItem } from '../../order-store/order.rows.js';
import { SqlBatch } from '../../platform/database/sql-batch.js';
import { PoisonMessageError, type TypedEnvelope } from '../../platform/messaging/message-processor.service.js';
import { causedBy, OutboxService, type Trace } from '../../platform/messaging/outbox.service.js';
import { correlation, messageTrace } from '../../platform/observability/correlation.js';
import { orderDuration, ordersFinished, sagaCompensationsStuck, sagaStalledOrders, sagaStepDuration, sagaStepRetries } from '../../platform/observability/metrics.counters.js';
import { onCommit } from '../../platform/observability/metrics.on-commit.js';
import { decideFor, endedAttempt, STEP_COMMAND, type SagaAction, type SagaEvent, type SagaPolicy, type SagaStep } from './order-saga.js';
import { SagaStepRepository, type StepRecord, type StepWrite } from './saga-step.repository.js';
import { assertUnreachable } from '../../common/assert-unreachable.js';

/** Every message the saga reads: the ones `interpret` handles itself, and shipping's. */
export type SagaMessage = TypedEnvelope<InterpretedFirst | ShippingMessageType>;

/** An event and the order columns it brings along (prices, payment id, shipment details). */
interface Interpreted {
  event: SagaEvent | null;
  step?: SagaStep;
  patch?: OrderPatch;
  prices?: Array<{ productId: string; unitPrice: number }>;
}

/**
 * Carries out the saga's decisions for one order inside the caller's transaction: the guarded
 * status change with its history row and OrderStatusChanged, the next command, and the step's
 * deadline, all committed together (docs/architecture.md §7.2). It never waits for another module.
 */
@Injectable()
export class OrderSagaService {
  private readonly logger = new Logger(OrderSagaService.name);
  private readonly policy: SagaPolicy;

  constructor(
    private readonly orders: OrderRepository,
    private readonly events: OrderEventRepository,
    private readonly steps: SagaStepRepository,
    private readonly outbox: OutboxService,
    private readonly readCache: OrderReadCache,
    @Inject(sagaConfig.KEY) cfg: ConfigType<typeof sagaConfig>,
  ) {
    this.policy = cfg;
  }

  /**
   * Messages of one partition, in order, in one transaction (the message processor has opened `tx`
   * and recorded their inbox rows): one round trip reads (and locks, in id order, so concurrent
   * batches cannot deadlock) every order they concern, each message is decided against its order's
   * state as the messages before it left it, and one round trip writes it all.
   */
  async handleMany(messages: SagaMessage[], tx: EntityManager): Promise<void> {
    const { states, now } = await this.load(tx, [...new Set(messages.map((m) => m.orderId))]);
    const writes = new StagedWrites(now);
    for (const message of messages) {
      const state = states.get(message.orderId);
      if (!state) throw new PoisonMessageError(`no order ${message.orderId}`);
      correlation.run(messageTrace(message), () => {
        const interpreted = interpret(message);
        if (interpreted.event) this.decideAndStage(writes, state, interpreted, causedBy(message), now);
        else if (interpreted.patch) writes.patch(state, interpreted.patch);
      });
    }
    await this.write(tx, writes);
  }

  /**
   * A step's deadline or backoff has passed (called by the scheduler, in its transaction, for the
   * attempt whose command was `commandEventId`). False if another instance holds the order right now,
   * or the step moved on since the scheduler looked.
   */
  async stepDue(tx: EntityManager, orderId: string, step: SagaStep, commandEventId: string | null): Promise<boolean> {
    return (await this.stepsDue(tx, [{ orderId, step, commandEventId }])) > 0;
  }

  /**
   * Due steps of many orders in one transaction, as `stepDue` for each (one round trip to read and
   * lock, one to write). Orders another instance holds are skipped, not waited for. Returns how many
   * steps it advanced.
   */
  async stepsDue(tx: EntityManager, due: ReadonlyArray<{ orderId: string; step: SagaStep; commandEventId: string | null }>): Promise<number> {
    const { states, now } = await this.load(tx, [...new Set(due.map((d) => d.orderId))], true);
    const writes = new StagedWrites(now);
    let advanced = 0;
    for (const { orderId, step, commandEventId } of due) {
      const state = states.get(orderId);
      // Step rows only change under their order's lock, which we hold: this read is current.
      const current = state?.steps.get(step);
      if (!state || !current || current.commandEventId !== commandEventId || current.dueAt.getTime() > now.getTime()) continue;
      const trace = { correlationId: state.order.correlationId };
      correlation.run({ ...trace, orderId }, () => this.decideAndStage(writes, state, { event: { type: 'StepDue', step }, step }, trace, now));
      advanced += 1;
    }
    if (advanced) await this.write(tx, writes);
    return advanced;
  }

  /**
   * Drives on an order stalled in a status that has no step deadline (RECEIVED: its OrderCreated was
   * never handled; PAYMENT_COMPLETED: its OrderValidated), as if that message had come. The message, if
   * it comes later, then changes nothing: transitions are guarded by their source status.
   */
  async redrive(tx: EntityManager, orderId: string, stalledAfterMs: number): Promise<boolean> {
    const { states, now } = await this.load(tx, [orderId], true);
    const state = states.get(orderId);
    if (!state || now.getTime() - state.order.updatedAt.getTime() < stalledAfterMs) return false;
    const status = state.order.status;
    const event: SagaEvent | null = status === 'RECEIVED' ? { type: 'OrderCreated' } : status === 'PAYMENT_COMPLETED' ? { type: 'OrderValidated' } : null;
    if (!event) return false;
    this.logger.warn(`order ${orderId} stalled in ${status} since ${state.order.updatedAt.toISOString()}; driving it on`);
    sagaStalledOrders.inc({ status });
    const writes = new StagedWrites(now);
    this.decideAndStage(writes, state, { event }, { correlationId: state.order.correlationId }, now);
    await this.write(tx, writes);
    return true;
  }

  /** Decides what the event means for the order and stages everything that causes; updates `state` to match. */
  private decideAndStage(writes: StagedWrites, state: OrderState, { event, step, patch, prices }: Interpreted, trace: Trace, now: Date): void {
    const { status, cancelRequestedAt } = state.order;
    const actions = decideFor({ status, cancelRequested: cancelRequestedAt !== null }, event!, step ? state.steps.get(step) : undefined, this.policy);
    if (!actions.length) {
      this.logger.debug(`${event!.type} ignored for order ${state.order.id} in ${state.order.status}`);
      return;
    }
    this.observeAttempt(state, event!, actions, now);
    if (prices) {
      const priced = withPrices(state.items, prices);
      // The lines the reply priced (withPrices copies only those), by their own ids: see stageUnitPrices.
      for (const [i, item] of priced.entries()) if (item !== state.items[i]) writes.prices.push([item.id, item.unitPrice!]);
      state.items = priced;
    }
    for (const action of actions) this.stage(writes, state, action, trace, now, patch);
  }

  /** Times the step attempt the event ended (read before the actions change the order's step rows), once committed. */
  private observeAttempt(state: OrderState, event: SagaEvent, actions: SagaAction[], now: Date): void {
    const ended = endedAttempt(event, actions, (step) => state.steps.get(step));
    const sentAt = ended && state.steps.get(ended.step)?.sentAt;
    if (!ended || !sentAt) return;
    const seconds = secondsBetween(sentAt, now);
    onCommit(() => sagaStepDuration.observe({ step: ended.step, outcome: ended.outcome }, seconds));
  }

  /**
   * Everything staged, in one round trip: unit prices, order changes, history (the status events),
   * shipment events, step rows and outbox. Writes of the same kind for many orders go as one statement
   * each (the database's cost is mostly per statement, not per row): one UPDATE per kind of order change,
   * one upsert of the steps that remain, one DELETE per step kind that ended, one INSERT of history, of
   * shipment events and of outbox rows.
   */
  private async write(tx: EntityManager, writes: StagedWrites): Promise<void> {
    const batch = new SqlBatch();
    this.orders.stageUnitPrices(batch, writes.prices);
    this.orders.stageChanges(batch, writes.orders.values(), writes.now);
    this.orders.stageHistory(batch, writes.history);
    this.events.stageEvents(batch, writes.events);
    const { upserts, ended } = writes.stepRows();
    this.steps.stageWrites(batch, upserts, ended, writes.now);
    this.outbox.stage(batch, writes.messages);
    await batch.run(tx);
    this.invalidateOnCommit(writes);
  }

  /**
   * The cached reads of every order the transaction changed (a status or only columns such as the
   * shipment status) go once it has committed: dropped before, a reader could cache the old row again.
   * One command for the whole batch, not awaited.
   */
  private invalidateOnCommit(writes: StagedWrites): void {
    const changed = [...writes.orders.keys()];
    if (changed.length) onCommit(() => this.readCache.invalidate(changed));
  }

  private stage(writes: StagedWrites, state: OrderState, action: SagaAction, trace: Trace, now: Date, patch?: OrderPatch): void {
    switch (action.kind) {
      case 'transition':
        return this.transition(writes, state, action, trace, now, patch);
      case 'send':
        return this.send(writes, state, action, trace, now);
      case 'retryLater':
        return this.retryLater(writes, state, action);
      case 'notify':
        writes.messages.push(notification(state, action.command, trace, now));
        return;
      case 'finish':
        state.steps.delete(action.step);
        writes.touchStep(state, action.step, state.order.correlationId);
        return;
      case 'giveUp':
        return this.giveUp(writes, state, action);
      default:
        assertUnreachable(action);
    }
  }

  private transition(writes: StagedWrites, state: OrderState, action: Extract<SagaAction, { kind: 'transition' }>, trace: Trace, now: Date, patch?: OrderPatch): void {
    const { order } = state;
    writes.transition(state, action.from, action.to, action.reason, patch);
    Object.assign(
      order,
      { status: action.to },
      patch?.total !== undefined ? { total: patch.total } : {},
      patch?.currency ? { currency: patch.currency } : {},
      patch?.paymentId ? { paymentId: patch.paymentId } : {},
    );
    const reason = action.reason ? { reason: action.reason } : {};
    writes.messages.push(newEnvelope('OrderStatusChanged', order.id, { from: action.from, to: action.to, ...reason, at: now.toISOString() }, trace, now));
    if (TERMINAL_STATUSES.has(action.to)) countFinished(order, action.to, now);
    this.logger.log(`order ${order.id}: ${action.from} → ${action.to}${action.reason ? ` (${action.reason})` : ''}`);
  }

  private send(writes: StagedWrites, state: OrderState, action: Extract<SagaAction, { kind: 'send' }>, trace: Trace, now: Date): void {
    const command = stepCommand(state, action.step, action.attempt, trace, now);
    writes.messages.push(command);
    writes.touchStep(state, action.step, trace.correlationId);
    state.steps.set(action.step, {
      step: action.step,
      state: 'WAITING',
      attempt: action.attempt,
      commandEventId: command.eventId,
      dueAt: new Date(now.getTime() + action.timeoutMs),
      sentAt: now,
    });
    if (action.attempt > 1) {
      sagaStepRetries.inc({ step: action.step });
      this.logger.warn(`order ${state.order.id}: ${STEP_COMMAND[action.step]} attempt ${action.attempt}`);
    }
  }

  private retryLater(writes: StagedWrites, state: OrderState, action: Extract<SagaAction, { kind: 'retryLater' }>): void {
    const current = state.steps.get(action.step);
    if (current) {
      state.steps.set(action.step, { ...current, state: 'RETRY', dueAt: new Date(writes.now.getTime() + action.delayMs) });
      writes.touchStep(state, action.step, state.order.correlationId);
    }
    this.logger.warn(`order ${state.order.id}: ${action.step} failed transiently (attempt ${action.attempt}); retrying in ${action.delayMs} ms`);
  }

  private giveUp(writes: StagedWrites, state: OrderState, action: Extract<SagaAction, { kind: 'giveUp' }>): void {
    const current = state.steps.get(action.step);
    if (current) {
      state.steps.set(action.step, { ...current, state: 'STUCK' });
      writes.touchStep(state, action.step, state.order.correlationId);
    }
    sagaCompensationsStuck.inc({ step: action.step });
    this.logger.error(`order ${state.order.id}: ${STEP_COMMAND[action.step]} failed ${action.attempt} times; set aside for an operator (GET /api/admin/saga/stuck-steps)`);
  }

  /**
   * Everything saga steps read, in one round trip: the orders (locked in id order, so one step of an
   * order runs at a time across consumers, the scheduler and replicas, and batches never deadlock),
   * their lines and their open steps. Orders not found (or, with `skipLocked`, held elsewhere) are absent.
   */
  private async load(tx: EntityManager, orderIds: string[], skipLocked = false): Promise<{ states: Map<string, OrderState>; now: Date }> {
    const ids = [...orderIds].sort();
    const batch = new SqlBatch();
    const readOrders = this.orders.stageLockForSaga(batch, ids, skipLocked);
    const readSteps = this.steps.stageRead(batch, ids);
    // Every deadline and timestamp of the saga comes from the database's clock: replicas' clocks differ.
    const clock = batch.add('SELECT UTC_TIMESTAMP(3) AS now');
    const results = await batch.run(tx);
    const { orders, items } = readOrders(results);
    const states = new Map<string, OrderState>(orders.map((order) => [order.id, { order, items: [], steps: new Map() }]));
    for (const item of items) states.get(item.orderId)?.items.push(item);
    for (const { orderId, ...step } of readSteps(results)) states.get(orderId)?.steps.set(step.step, step);
    const [{ now }] = results[clock] as Array<{ now: Date }>;
    return { states, now: new Date(now) };
  }
}

/** An order as a transaction of saga steps sees it, kept current as its messages are staged. */
interface OrderState {
  order: LockedOrder;
  items: OrderItem[];
  steps: Map<SagaStep, StepRecord>;
}

/**
 * The writes of one transaction, sent in one round trip. Status changes and step rows are kept as their
 * net effect per order (the orders are locked and their state is tracked in memory as messages are
 * decided), so they can be written for all orders at once at the end.
 */
class StagedWrites {
  readonly messages: Envelope[] = [];
  readonly history: HistoryValues[] = [];
  /**
   * The shipment events of the orders' event logs (docs/order-events.md), each at the order's next
   * version; their status events are the history rows.
   */
  readonly events: OrderEventValues[] = [];
  /** order line id, unit price */
  readonly prices: Array<[itemId: string, unitPrice: number]> = [];
  /** Each order's net change (status and columns), merged in message order. */
  readonly orders = new Map<string, OrderChange>();
  /** The step rows changed, keyed by order and step: written as the order's state holds them at the end (or deleted). */
  private readonly steps = new Map<string, { state: OrderState; step: SagaStep; correlationId: string }>();

  constructor(readonly now: Date) {}

  transition(state: OrderState, from: OrderStatus, to: OrderStatus, reason: FailureReason | undefined, patch: OrderPatch = {}): void {
    const orderId = state.order.id;
    // The history row is the order's status event (OrderEventRepository): it takes the next seq.
    this.history.push([orderId, this.nextSeq(state), from, to, reason ?? null, this.now]);
    const change = this.change(orderId);
    change.move = { from: change.move?.from ?? from, to, reason: reason ?? null };
    change.patch = mergePatches(change.patch, patch);
    // The shipment created (SHIPPED) comes with its carrier, tracking number and estimated delivery.
    if (patch.shipmentId) this.fulfillment(state, patch);
  }

  /** Columns set without a status change (e.g. the shipment status after SHIPPED). */
  patch(state: OrderState, patch: OrderPatch): void {
    const change = this.change(state.order.id);
    change.patch = mergePatches(change.patch, patch);
    if (patch.shipmentStatus && patch.shipmentStatus !== state.order.shipmentStatus) this.fulfillment(state, patch);
  }

  /** The shipment's event, unless its status is already final (the UPDATE keeps that one too: see patchSet). */
  private fulfillment(state: OrderState, patch: OrderPatch): void {
    const current = state.order.shipmentStatus;
    if (!patch.shipmentStatus || (current && isFinalShipmentStatus(current))) return;
    state.order.shipmentStatus = patch.shipmentStatus;
    const { shipmentId, carrier, trackingNumber, estimatedDelivery, shipmentStatus } = patch;
    const details = { shipmentId, carrier, trackingNumber, estimatedDelivery: estimatedDelivery?.toISOString() };
    const defined = Object.fromEntries(Object.entries(details).filter(([, value]) => value !== undefined));
    this.events.push(fulfillmentEvent(state.order.id, this.nextSeq(state), { shipmentStatus, ...defined }, this.now));
  }

  /** The order's next event seq: its version, bumped (the UPDATE adds this batch's count of events). */
  private nextSeq(state: OrderState): number {
    this.change(state.order.id).events += 1;
    return ++state.order.version;
  }

  private change(orderId: string): OrderChange {
    let change = this.orders.get(orderId);
    if (!change) this.orders.set(orderId, (change = { orderId, patch: {}, events: 0 }));
    return change;
  }

  touchStep(state: OrderState, step: SagaStep, correlationId: string): void {
    const key = `${state.order.id} ${step}`;
    // A step row created in this batch keeps the correlation id it was created with.
    if (!this.steps.has(key)) this.steps.set(key, { state, step, correlationId });
  }

  /** The touched step rows: those that remain (to upsert) and, per step kind, the orders whose step ended. */
  stepRows(): { upserts: StepWrite[]; ended: Map<SagaStep, string[]> } {
    const upserts: StepWrite[] = [];
    const ended = new Map<SagaStep, string[]>();
    for (const { state, step, correlationId } of this.steps.values()) {
      const record = state.steps.get(step);
      if (record) upserts.push({ orderId: state.order.id, record, correlationId });
      else ended.set(step, [...(ended.get(step) ?? []), state.order.id]);
    }
    return { upserts, ended };
  }
}

/** Seconds from `from` to `to`, never negative (the order's creation is stamped by the API process's clock, the saga's by the database's). */
function secondsBetween(from: Date, to: Date): number {
  return Math.max(0, (to.getTime() - from.getTime()) / 1000);
}

/** An order reached a terminal status: counted by status, with its time from creation, once the transaction commits. */
function countFinished(order: LockedOrder, status: OrderStatus, now: Date): void {
  const seconds = secondsBetween(order.createdAt, now);
  onCommit(() => {
    ordersFinished.inc({ status });
    orderDuration.observe({ status }, seconds);
  });
}

/** The order's lines with the unit prices a reservation reply just brought (staged in this same step). */
function withPrices(items: OrderItem[], prices: Interpreted['prices']): OrderItem[] {
  if (!prices) return items;
  const priceOf = new Map(prices.map((p) => [p.productId, p.unitPrice]));
  return items.map((i) => (priceOf.has(i.productId) ? { ...i, unitPrice: priceOf.get(i.productId)! } : i));
}

/** The command a step sends (the step then waits on the reply to its eventId). */
function stepCommand({ order, items }: OrderState, step: SagaStep, attempt: number, trace: Trace, now: Date): Envelope {
  const lines = items.map((i) => ({ productId: i.productId, quantity: i.quantity }));
  switch (step) {
    case 'inventory':
      return newEnvelope('ReserveStock', order.id, { items: lines, currency: order.currency, attempt }, trace, now);
    case 'payment':
      return newEnvelope('ChargePayment', order.id, { amount: Number(order.total ?? 0), currency: order.currency, customerId: order.customerId, attempt }, trace, now);
    case 'shipping':
      return newEnvelope('ShipmentRequested', order.id, { shippingAddress: { ...order.shippingAddress }, items: lines, attempt }, trace, now);
    case 'release':
      return newEnvelope('ReleaseStock', order.id, { reason: order.status }, trace, now);
    case 'refund':
      return newEnvelope('RefundPayment', order.id, { reason: order.status }, trace, now);
    case 'cancelShipment':
      return newEnvelope('CancelShipment', order.id, { reason: order.status }, trace, now);
    default:
      return assertUnreachable(step);
  }
}

/** A command that expects no answer. */
function notification({ order, items }: OrderState, command: 'CommitStock' | 'OrderValidated', trace: Trace, now: Date): Envelope {
  if (command === 'CommitStock') return newEnvelope('CommitStock', order.id, {}, trace, now);
  const priced = items.map((i) => ({ productId: i.productId, quantity: i.quantity, unitPrice: Number(i.unitPrice ?? 0) }));
  return newEnvelope('OrderValidated', order.id, { items: priced, total: Number(order.total ?? 0), currency: order.currency, paymentId: order.paymentId ?? '' }, trace, now);
}

/** Message → saga event, plus the order columns the message carries. */
export function interpret(m: SagaMessage): Interpreted {
  switch (m.eventType) {
    case 'OrderCreated':
      return { event: { type: 'OrderCreated' } };
    case 'OrderCancellationRequested':
      return { event: { type: 'CancellationRequested' } };
    case 'OrderValidated':
      return { event: { type: 'OrderValidated' } };
    case 'StockReservationConfirmed':
      return {
        event: { type: 'StockReserved' },
        // Late, on a failed or cancelled order, it is undone by a release.
        step: 'release',
        patch: { total: m.payload.total, currency: m.payload.currency },
        prices: m.payload.items.map((i) => ({ productId: i.productId, unitPrice: i.unitPrice })),
      };
    case 'StockReservationRejected':
      return { event: { type: 'StockRejected', reason: m.payload.reason, transient: m.payload.transient, causationId: m.causationId }, step: 'inventory' };
    case 'StockReleaseConfirmed':
      return { event: { type: 'CompensationDone', step: 'release' }, step: 'release' };
    case 'PaymentCharged':
      return { event: { type: 'PaymentCharged' }, step: 'refund', patch: { paymentId: m.payload.paymentId } };
    case 'PaymentRejected':
      return { event: { type: 'PaymentRejected', reason: m.payload.reason, transient: m.payload.transient, causationId: m.causationId }, step: 'payment' };
    case 'PaymentRefunded':
      return { event: { type: 'CompensationDone', step: 'refund' }, step: 'refund' };
    default:
      return interpretShipping(m);
  }
}

/** The shipping messages: replies to the saga's commands, and the shipment's own progress. */
function interpretShipping(m: Exclude<SagaMessage, { eventType: InterpretedFirst }>): Interpreted {
  switch (m.eventType) {
    case 'ShipmentCreated': {
      const { shipmentId, carrier, trackingNumber, estimatedDelivery, status } = m.payload;
      return {
        event: { type: 'ShipmentCreated' },
        step: 'cancelShipment',
        patch: { shipmentId, carrier, trackingNumber, estimatedDelivery: new Date(estimatedDelivery), shipmentStatus: status },
      };
    }
    case 'ShipmentRejected':
      return { event: { type: 'ShipmentRejected', reason: m.payload.reason, transient: m.payload.transient, causationId: m.causationId }, step: 'shipping' };
    case 'ShipmentStatusChanged':
      // The shipment's own lifecycle (IN_TRANSIT, DELIVERED) lives on the order's fulfillment, not its status.
      return { event: null, patch: { shipmentStatus: m.payload.status, trackingNumber: m.payload.trackingNumber, carrier: m.payload.carrier } };
    case 'ShipmentCancelled':
      return { event: { type: 'CompensationDone', step: 'cancelShipment' }, step: 'cancelShipment' };
    case 'ShipmentRequested':
    case 'CancelShipment':
      return { event: null }; // our own commands, seen on the shared shipping-updates topic
    default:
      return assertUnreachable(m);
  }
}

/** The shipping messages the saga reads (`interpretShipping`). */
type ShippingMessageType = 'ShipmentCreated' | 'ShipmentRejected' | 'ShipmentCancelled' | 'ShipmentStatusChanged' | 'ShipmentRequested' | 'CancelShipment';

/** The message types `interpret` handles itself; the rest are shipping's. */
type InterpretedFirst =
  | 'OrderCreated'
  | 'OrderCancellationRequested'
  | 'OrderValidated'
  | 'StockReservationConfirmed'
  | 'StockReservationRejected'
  | 'StockReleaseConfirmed'
  | 'PaymentCharged'
  | 'PaymentRejected'
  | 'PaymentRefunded';
