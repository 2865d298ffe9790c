import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { EntityManager } from 'typeorm';
import { sagaConfig } from '../../config/saga.config.js';
import { newEnvelope, type Envelope } from '../../contracts/envelope.js';
import type { Address } from '../../contracts/messages.js';
import type { FailureReason, OrderStatus } from '../../contracts/order-status.js';
import { affectedRows, keyTable, placeholders, SqlBatch } from '../../platform/database/sql-batch.js';
import { PoisonMessageError, type TypedEnvelope } from '../../platform/messaging/message-processor.service.js';
import { causedBy, OutboxService, type Trace } from '../../platform/messaging/outbox.service.js';
import { correlation, messageTrace } from '../../platform/observability/correlation.js';
import { sagaCompensationsStuck, sagaStalledOrders, sagaStepRetries } from '../../platform/observability/metrics.counters.js';
import { mergePatches, OrderStoreService, type HistoryRow, type OrderChange, type OrderPatch } from '../../platform/order-store/order-store.service.js';
import { decide, STEP_COMMAND, type SagaAction, type SagaEvent, type SagaPolicy, type SagaStep, type StepState } from './order-saga.js';
import { assertUnreachable } from '../../common/assert-unreachable.js';

export type SagaMessage = TypedEnvelope<
  | 'OrderCreated'
  | 'OrderValidated'
  | 'StockReservationConfirmed'
  | 'StockReservationRejected'
  | 'StockReleaseConfirmed'
  | 'PaymentCharged'
  | 'PaymentRejected'
  | 'PaymentRefunded'
  | 'ShipmentCreated'
  | 'ShipmentRejected'
  | 'ShipmentCancelled'
  | 'ShipmentStatusChanged'
  | 'ShipmentRequested'
  | 'CancelShipment'
>;

interface LockedOrder {
  id: string;
  status: OrderStatus;
  customer_id: string;
  currency: string;
  total: number | null;
  payment_id: string | null;
  correlation_id: string;
  ship_line1: string;
  ship_line2: string | null;
  ship_city: string;
  ship_postal_code: string;
  ship_country: string;
  updated_at: Date;
}

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
    private readonly store: OrderStoreService,
    private readonly outbox: OutboxService,
    @Inject(sagaConfig.KEY) cfg: ConfigType<typeof sagaConfig>,
  ) {
    this.policy = cfg;
  }

  /** A message from Kafka (the message processor has opened `tx` and recorded the inbox row). */
  handle(message: SagaMessage, tx: EntityManager): Promise<void> {
    return this.handleMany([message], tx);
  }

  /**
   * Messages of one partition, in order, in one transaction: one round trip reads (and locks, in id
   * order, so concurrent batches cannot deadlock) every order they concern, each message is decided
   * against its order's state as the messages before it left it, and one round trip writes it all.
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
        else if (interpreted.patch) writes.patch(state.order.id, interpreted.patch);
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
      const trace = { correlationId: state.order.correlation_id };
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
    if (!state || now.getTime() - state.order.updated_at.getTime() < stalledAfterMs) return false;
    const status = state.order.status;
    const event: SagaEvent | null = status === 'RECEIVED' ? { type: 'OrderCreated' } : status === 'PAYMENT_COMPLETED' ? { type: 'OrderValidated' } : null;
    if (!event) return false;
    this.logger.warn(`order ${orderId} stalled in ${status} since ${state.order.updated_at.toISOString()}; driving it on`);
    sagaStalledOrders.inc({ status });
    const writes = new StagedWrites(now);
    this.decideAndStage(writes, state, { event }, { correlationId: state.order.correlation_id }, now);
    await this.write(tx, writes);
    return true;
  }

  /** Decides what the event means for the order and stages everything that causes; updates `state` to match. */
  private decideAndStage(writes: StagedWrites, state: OrderState, { event, step, patch, prices }: Interpreted, trace: Trace, now: Date): void {
    const actions = decide(state.order.status, event!, step ? state.steps.get(step) : undefined, this.policy);
    if (!actions.length) {
      this.logger.debug(`${event!.type} ignored for order ${state.order.id} in ${state.order.status}`);
      return;
    }
    if (prices) {
      const priced = withPrices(state.items, prices);
      // The lines the reply priced (withPrices copies only those), by their own ids: see stageUnitPrices.
      for (const [i, item] of priced.entries()) if (item !== state.items[i]) writes.prices.push([item.id, item.unitPrice!]);
      state.items = priced;
    }
    for (const action of actions) this.stage(writes, state, action, trace, now, patch);
  }

  /**
   * Everything staged, in one round trip: unit prices, order changes, history, step rows and outbox.
   * Writes of the same kind for many orders go as one statement each (the database's cost is mostly per
   * statement, not per row): one UPDATE per kind of order change, one upsert of the steps that remain,
   * one DELETE per step kind that ended, one INSERT of history and of outbox rows.
   */
  private async write(tx: EntityManager, writes: StagedWrites): Promise<void> {
    const { batch } = writes;
    this.store.stageUnitPrices(batch, writes.prices);
    const guards = this.store.stageOrderChanges(batch, writes.orders.values(), writes.now);
    this.store.stageHistory(batch, writes.history);
    stageSteps(batch, writes);
    this.outbox.stage(batch, writes.messages);
    const results = await batch.run(tx);
    for (const guard of guards) {
      // We hold the orders' row locks, so this cannot happen; if it does, the whole transaction rolls back.
      const moved = affectedRows(results[guard.index]);
      if (moved !== guard.orderIds.length) throw new Error(`${guard.orderIds.length - moved} of orders ${guard.orderIds.join(', ')} left their status while locked`);
    }
  }

  private stage(writes: StagedWrites, state: OrderState, action: SagaAction, trace: Trace, now: Date, patch?: OrderPatch): void {
    const { messages } = writes;
    const { order, items } = state;
    switch (action.kind) {
      case 'transition': {
        writes.transition(order.id, action.from, action.to, action.reason, patch);
        Object.assign(
          order,
          { status: action.to },
          patch?.total !== undefined ? { total: patch.total } : {},
          patch?.currency ? { currency: patch.currency } : {},
          patch?.paymentId ? { payment_id: patch.paymentId } : {},
        );
        messages.push(
          newEnvelope('OrderStatusChanged', order.id, { from: action.from, to: action.to, ...(action.reason ? { reason: action.reason } : {}), at: now.toISOString() }, trace, now),
        );
        this.logger.log(`order ${order.id}: ${action.from} → ${action.to}${action.reason ? ` (${action.reason})` : ''}`);
        return;
      }
      case 'send': {
        const command = this.command(order, action.step, action.attempt, items, trace, now);
        messages.push(command);
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
          this.logger.warn(`order ${order.id}: ${STEP_COMMAND[action.step]} attempt ${action.attempt}`);
        }
        return;
      }
      case 'retryLater': {
        const current = state.steps.get(action.step);
        if (current) {
          state.steps.set(action.step, { ...current, state: 'RETRY', dueAt: new Date(now.getTime() + action.delayMs) });
          writes.touchStep(state, action.step, order.correlation_id);
        }
        this.logger.warn(`order ${order.id}: ${action.step} failed transiently (attempt ${action.attempt}); retrying in ${action.delayMs} ms`);
        return;
      }
      case 'notify':
        if (action.command === 'CommitStock') messages.push(newEnvelope('CommitStock', order.id, {}, trace, now));
        else {
          const priced = items.map((i) => ({ productId: i.productId, quantity: i.quantity, unitPrice: Number(i.unitPrice ?? 0) }));
          messages.push(
            newEnvelope('OrderValidated', order.id, { items: priced, total: Number(order.total ?? 0), currency: order.currency, paymentId: order.payment_id ?? '' }, trace, now),
          );
        }
        return;
      case 'finish':
        state.steps.delete(action.step);
        writes.touchStep(state, action.step, order.correlation_id);
        return;
      case 'giveUp': {
        const current = state.steps.get(action.step);
        if (current) {
          state.steps.set(action.step, { ...current, state: 'STUCK' });
          writes.touchStep(state, action.step, order.correlation_id);
        }
        sagaCompensationsStuck.inc({ step: action.step });
        this.logger.error(`order ${order.id}: ${STEP_COMMAND[action.step]} failed ${action.attempt} times; set aside for an operator (GET /api/admin/saga/stuck-steps)`);
        return;
      }
      default:
        assertUnreachable(action);
    }
  }

  /** The command a step sends (the step then waits on the reply to its eventId). */
  private command(order: LockedOrder, step: SagaStep, attempt: number, items: ItemRow[], trace: Trace, now: Date): Envelope {
    const lines = items.map((i) => ({ productId: i.productId, quantity: i.quantity }));
    switch (step) {
      case 'inventory':
        return newEnvelope('ReserveStock', order.id, { items: lines, currency: order.currency, attempt }, trace, now);
      case 'payment':
        return newEnvelope('ChargePayment', order.id, { amount: Number(order.total ?? 0), currency: order.currency, customerId: order.customer_id, attempt }, trace, now);
      case 'shipping':
        return newEnvelope('ShipmentRequested', order.id, { shippingAddress: addressOf(order), items: lines, attempt }, trace, now);
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

  /**
   * Everything saga steps read, in one round trip: the orders (locked in id order, so one step of an
   * order runs at a time across consumers, the scheduler and replicas, and batches never deadlock),
   * their lines and their open steps. Orders not found (or, with `skipLocked`, held elsewhere) are absent.
   */
  private async load(tx: EntityManager, orderIds: string[], skipLocked = false): Promise<{ states: Map<string, OrderState>; now: Date }> {
    const ids = [...orderIds].sort();
    const marks = placeholders(ids);
    const batch = new SqlBatch();
    batch.add(
      `SELECT id, status, customer_id, currency, total, payment_id, correlation_id, ship_line1, ship_line2, ship_city, ship_postal_code, ship_country, updated_at
       FROM orders WHERE id IN (${marks}) ORDER BY id FOR UPDATE${skipLocked ? ' SKIP LOCKED' : ''}`,
      ids,
    );
    batch.add(`SELECT id, order_id, product_id, quantity, unit_price FROM order_items WHERE order_id IN (${marks}) ORDER BY order_id, line_no`, ids);
    batch.add(`SELECT order_id, step, state, attempt, command_event_id, due_at, sent_at FROM saga_steps WHERE order_id IN (${marks})`, ids);
    // Every deadline and timestamp of the saga comes from the database's clock: replicas' clocks differ.
    batch.add('SELECT UTC_TIMESTAMP(3) AS now');
    const [orders, itemRows, stepRows, [{ now }]] = (await batch.run(tx)) as [LockedOrder[], RawItemRow[], RawStepRow[], Array<{ now: Date }>];
    const states = new Map<string, OrderState>(orders.map((order) => [order.id, { order, items: [], steps: new Map() }]));
    for (const r of itemRows) {
      states.get(r.order_id)?.items.push({ id: String(r.id), productId: r.product_id, quantity: r.quantity, unitPrice: r.unit_price === null ? null : Number(r.unit_price) });
    }
    for (const r of stepRows) {
      states.get(r.order_id)?.steps.set(r.step, {
        step: r.step,
        state: r.state,
        attempt: r.attempt,
        commandEventId: r.command_event_id,
        dueAt: new Date(r.due_at),
        sentAt: r.sent_at === null ? null : new Date(r.sent_at),
      });
    }
    return { states, now: new Date(now) };
  }
}

/** An order as a transaction of saga steps sees it, kept current as its messages are staged. */
interface OrderState {
  order: LockedOrder;
  items: ItemRow[];
  steps: Map<SagaStep, StepState & { dueAt: Date; sentAt: Date | null }>;
}

/**
 * The writes of one transaction, sent in one round trip. Status changes and step rows are kept as their
 * net effect per order (the orders are locked and their state is tracked in memory as messages are
 * decided), so they can be written for all orders at once at the end.
 */
class StagedWrites {
  readonly batch = new SqlBatch();
  readonly messages: Envelope[] = [];
  readonly history: HistoryRow[] = [];
  /** order id, product id, unit price */
  readonly prices: Array<[itemId: string, unitPrice: number]> = [];
  /** Each order's net change (status and columns), merged in message order. */
  readonly orders = new Map<string, OrderChange>();
  /** The step rows changed, keyed by order and step: written as the order's state holds them at the end (or deleted). */
  readonly steps = new Map<string, { state: OrderState; step: SagaStep; correlationId: string }>();

  constructor(readonly now: Date) {}

  transition(orderId: string, from: OrderStatus, to: OrderStatus, reason: FailureReason | undefined, patch: OrderPatch = {}): void {
    this.history.push([orderId, from, to, reason ?? null, this.now]);
    const change = this.change(orderId);
    change.move = { from: change.move?.from ?? from, to, reason: reason ?? null, count: (change.move?.count ?? 0) + 1 };
    change.patch = mergePatches(change.patch, patch);
  }

  /** Columns set without a status change (e.g. the shipment status after SHIPPED). */
  patch(orderId: string, patch: OrderPatch): void {
    const change = this.change(orderId);
    change.patch = mergePatches(change.patch, patch);
  }

  private change(orderId: string): OrderChange {
    let change = this.orders.get(orderId);
    if (!change) this.orders.set(orderId, (change = { orderId, patch: {} }));
    return change;
  }

  touchStep(state: OrderState, step: SagaStep, correlationId: string): void {
    const key = `${state.order.id} ${step}`;
    // A step row created in this batch keeps the correlation id it was created with.
    if (!this.steps.has(key)) this.steps.set(key, { state, step, correlationId });
  }
}

/** Upserts the touched step rows that remain and deletes, per step kind, the ones that ended. */
function stageSteps(batch: SqlBatch, writes: StagedWrites): void {
  const upserts: unknown[][] = [];
  const ended = new Map<SagaStep, string[]>();
  for (const { state, step, correlationId } of writes.steps.values()) {
    const row = state.steps.get(step);
    if (row) upserts.push([state.order.id, step, row.state, row.attempt, row.dueAt, row.sentAt, correlationId, row.commandEventId, writes.now, writes.now]);
    else ended.set(step, [...(ended.get(step) ?? []), state.order.id]);
  }
  if (upserts.length) {
    batch.addRows(
      'INSERT INTO saga_steps (order_id, step, state, attempt, due_at, sent_at, correlation_id, command_event_id, created_at, updated_at)',
      upserts,
      'ON DUPLICATE KEY UPDATE state = VALUES(state), attempt = VALUES(attempt), due_at = VALUES(due_at), sent_at = VALUES(sent_at), command_event_id = VALUES(command_event_id), updated_at = VALUES(updated_at)',
    );
  }
  for (const [step, orderIds] of ended)
    batch.add(`DELETE s FROM ${keyTable('k')} STRAIGHT_JOIN saga_steps s ON s.order_id = k.id AND s.step = ?`, [JSON.stringify(orderIds), step]);
}

interface RawItemRow {
  id: string | number;
  order_id: string;
  product_id: string;
  quantity: number;
  unit_price: string | number | null;
}

interface RawStepRow {
  order_id: string;
  step: SagaStep;
  state: StepState['state'];
  attempt: number;
  command_event_id: string | null;
  due_at: Date | string;
  sent_at: Date | string | null;
}

/** The order's lines with the unit prices a reservation reply just brought (staged in this same step). */
function withPrices(items: ItemRow[], prices: Interpreted['prices']): ItemRow[] {
  if (!prices) return items;
  const priceOf = new Map(prices.map((p) => [p.productId, p.unitPrice]));
  return items.map((i) => (priceOf.has(i.productId) ? { ...i, unitPrice: priceOf.get(i.productId)! } : i));
}

interface ItemRow {
  /** order_items.id (a BIGINT, kept as text) */
  id: string;
  productId: string;
  quantity: number;
  unitPrice: number | null;
}

function addressOf(o: LockedOrder): Address {
  return { line1: o.ship_line1, ...(o.ship_line2 ? { line2: o.ship_line2 } : {}), city: o.ship_city, postalCode: o.ship_postal_code, country: o.ship_country };
}

/** Message → saga event, plus the order columns the message carries. */
export function interpret(m: SagaMessage): Interpreted {
  switch (m.eventType) {
    case 'OrderCreated':
      return { event: { type: 'OrderCreated' } };
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
    case 'ShipmentCreated':
      return {
        event: { type: 'ShipmentCreated' },
        step: 'cancelShipment',
        patch: {
          shipmentId: m.payload.shipmentId,
          carrier: m.payload.carrier,
          trackingNumber: m.payload.trackingNumber,
          estimatedDelivery: new Date(m.payload.estimatedDelivery),
          shipmentStatus: m.payload.status,
        },
      };
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
