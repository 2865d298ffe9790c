import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { EntityManager } from 'typeorm';
import { sagaConfig } from '../../config/saga.config.js';
import { newEnvelope, type Envelope } from '../../contracts/envelope.js';
import type { Address } from '../../contracts/messages.js';
import type { OrderStatus } from '../../contracts/order-status.js';
import { affectedRows, SqlBatch } from '../../platform/database/sql-batch.js';
import { PoisonMessageError, type TypedEnvelope } from '../../platform/messaging/message-processor.service.js';
import { OutboxService, type Trace } from '../../platform/messaging/outbox.service.js';
import { sagaStepRetries } from '../../platform/observability/metrics.counters.js';
import { OrderStoreService, type OrderPatch } from '../../platform/order-store/order-store.service.js';
import { decide, STEP_COMMAND, type SagaAction, type SagaEvent, type SagaPolicy, type SagaStep, type StepState } from './order-saga.js';

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
  | 'ShipmentStatusChanged'
  | 'ShipmentRequested'
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
 * deadline, all committed together (DESIGN §7.2). It never waits for another module.
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
  async handle(message: SagaMessage, tx: EntityManager): Promise<void> {
    const interpreted = interpret(message);
    const { order, step, items } = await this.load(tx, message.orderId, interpreted.step);
    if (!order) throw new PoisonMessageError(`no order ${message.orderId}`);
    if (!interpreted.event) {
      if (interpreted.patch) await this.store.patch(tx, order.id, interpreted.patch, new Date());
      return;
    }
    await this.apply(tx, order, interpreted, { correlationId: message.correlationId, causationId: message.eventId }, step, items);
  }

  /** A step's deadline or backoff has passed (called by the scheduler, in its transaction). */
  async stepDue(tx: EntityManager, orderId: string, step: SagaStep): Promise<boolean> {
    const loaded = await this.load(tx, orderId, step, true);
    if (!loaded.order) return false; // another instance holds this order right now
    // Step rows only change under their order's lock, which we hold: this read is current.
    if (!loaded.step || loaded.step.dueAt.getTime() > Date.now()) return false;
    await this.apply(tx, loaded.order, { event: { type: 'StepDue', step }, step }, { correlationId: loaded.order.correlation_id }, loaded.step, loaded.items);
    return true;
  }

  /**
   * Decides, then writes everything the decision causes (transition, history, messages, step rows)
   * in one round trip.
   */
  private async apply(tx: EntityManager, order: LockedOrder, { event, patch, prices }: Interpreted, trace: Trace, current: StepState | undefined, items: ItemRow[]): Promise<void> {
    const actions = decide(order.status, event!, current, this.policy);
    if (!actions.length) {
      this.logger.debug(`${event!.type} ignored for order ${order.id} in ${order.status}`);
      return;
    }

    const now = new Date();
    const batch = new SqlBatch();
    const messages: Envelope[] = [];
    const guards: number[] = [];
    if (prices) this.store.stageUnitPrices(batch, order.id, prices);
    for (const action of actions) this.stage(batch, messages, guards, order, action, withPrices(items, prices), trace, now, patch);
    this.outbox.stage(batch, messages);
    const results = await batch.run(tx);
    for (const index of guards) {
      // We hold the order's row lock, so this cannot happen; if it does, the whole step rolls back.
      if (affectedRows(results[index]) !== 1) throw new Error(`order ${order.id} left ${order.status} while locked`);
    }
  }

  private stage(
    batch: SqlBatch,
    messages: Envelope[],
    guards: number[],
    order: LockedOrder,
    action: SagaAction,
    items: ItemRow[],
    trace: Trace,
    now: Date,
    patch?: OrderPatch,
  ): void {
    switch (action.kind) {
      case 'transition': {
        guards.push(this.store.stageTransition(batch, order.id, action.from, action.to, now, action.reason, patch));
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
        batch.add(
          `INSERT INTO saga_steps (order_id, step, state, attempt, due_at, correlation_id, command_event_id, created_at, updated_at) VALUES (?, ?, 'WAITING', ?, ?, ?, ?, ?, ?)
           ON DUPLICATE KEY UPDATE state = 'WAITING', attempt = VALUES(attempt), due_at = VALUES(due_at), command_event_id = VALUES(command_event_id), updated_at = VALUES(updated_at)`,
          [order.id, action.step, action.attempt, new Date(now.getTime() + action.timeoutMs), trace.correlationId, command.eventId, now, now],
        );
        if (action.attempt > 1) {
          sagaStepRetries.inc({ step: action.step });
          this.logger.warn(`order ${order.id}: ${STEP_COMMAND[action.step]} attempt ${action.attempt}`);
        }
        return;
      }
      case 'retryLater':
        batch.add(`UPDATE saga_steps SET state = 'RETRY', due_at = ?, updated_at = ? WHERE order_id = ? AND step = ?`, [
          new Date(now.getTime() + action.delayMs),
          now,
          order.id,
          action.step,
        ]);
        this.logger.warn(`order ${order.id}: ${action.step} failed transiently (attempt ${action.attempt}); retrying in ${action.delayMs} ms`);
        return;
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
        batch.add('DELETE FROM saga_steps WHERE order_id = ? AND step = ?', [order.id, action.step]);
        return;
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
      default:
        return assertUnreachable(step);
    }
  }

  /**
   * Everything a saga step reads, in one round trip: the order (locked, so one step of an order runs
   * at a time across consumers, the scheduler and replicas), the step's row and the order's lines.
   */
  private async load(tx: EntityManager, orderId: string, step: SagaStep | undefined, skipLocked = false): Promise<Loaded> {
    const batch = new SqlBatch();
    batch.add(
      `SELECT id, status, customer_id, currency, total, payment_id, correlation_id, ship_line1, ship_line2, ship_city, ship_postal_code, ship_country
       FROM orders WHERE id = ? FOR UPDATE${skipLocked ? ' SKIP LOCKED' : ''}`,
      [orderId],
    );
    batch.add('SELECT product_id, quantity, unit_price FROM order_items WHERE order_id = ? ORDER BY line_no', [orderId]);
    if (step) batch.add('SELECT step, state, attempt, command_event_id, due_at FROM saga_steps WHERE order_id = ? AND step = ?', [orderId, step]);
    const [orders, itemRows, stepRows] = (await batch.run(tx)) as [LockedOrder[], RawItemRow[], RawStepRow[] | undefined];
    const s = stepRows?.[0];
    return {
      order: orders[0] ?? null,
      items: itemRows.map((r) => ({ productId: r.product_id, quantity: r.quantity, unitPrice: r.unit_price === null ? null : Number(r.unit_price) })),
      step: s ? { step: s.step, state: s.state, attempt: s.attempt, commandEventId: s.command_event_id, dueAt: new Date(s.due_at) } : undefined,
    };
  }
}

interface Loaded {
  order: LockedOrder | null;
  step: (StepState & { dueAt: Date }) | undefined;
  items: ItemRow[];
}

interface RawItemRow {
  product_id: string;
  quantity: number;
  unit_price: string | number | null;
}

interface RawStepRow {
  step: SagaStep;
  state: StepState['state'];
  attempt: number;
  command_event_id: string | null;
  due_at: Date | string;
}

/** The order's lines with the unit prices a reservation reply just brought (staged in this same step). */
function withPrices(items: ItemRow[], prices: Interpreted['prices']): ItemRow[] {
  if (!prices) return items;
  const priceOf = new Map(prices.map((p) => [p.productId, p.unitPrice]));
  return items.map((i) => (priceOf.has(i.productId) ? { ...i, unitPrice: priceOf.get(i.productId)! } : i));
}

interface ItemRow {
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
        patch: { total: m.payload.total, currency: m.payload.currency },
        prices: m.payload.items.map((i) => ({ productId: i.productId, unitPrice: i.unitPrice })),
      };
    case 'StockReservationRejected':
      return { event: { type: 'StockRejected', reason: m.payload.reason, transient: m.payload.transient, causationId: m.causationId }, step: 'inventory' };
    case 'StockReleaseConfirmed':
      return { event: { type: 'CompensationDone', step: 'release' }, step: 'release' };
    case 'PaymentCharged':
      return { event: { type: 'PaymentCharged' }, patch: { paymentId: m.payload.paymentId } };
    case 'PaymentRejected':
      return { event: { type: 'PaymentRejected', reason: m.payload.reason, transient: m.payload.transient, causationId: m.causationId }, step: 'payment' };
    case 'PaymentRefunded':
      return { event: { type: 'CompensationDone', step: 'refund' }, step: 'refund' };
    case 'ShipmentCreated':
      return {
        event: { type: 'ShipmentCreated' },
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
    case 'ShipmentRequested':
      return { event: null }; // our own command, seen on the shared shipping-updates topic
    default:
      return assertUnreachable(m);
  }
}

function assertUnreachable(value: never): never {
  throw new Error(`unhandled ${JSON.stringify(value)}`);
}
