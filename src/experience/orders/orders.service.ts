import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { createHash } from 'node:crypto';
import { newId } from '../../contracts/ids.js';
import { DataSource } from 'typeorm';
import { appConfig } from '../../config/app.config.js';
import { newEnvelope } from '../../contracts/envelope.js';
import { CustomerRepository, type CustomerDetails } from '../../order-store/customer.repository.js';
import { IdempotencyKeyRepository } from '../../order-store/idempotency-key.repository.js';
import { OrderRepository, type OrderSummary } from '../../order-store/order.repository.js';
import type { Customer, HistoryEntry, Order, OrderItem } from '../../order-store/order.rows.js';
import { mayView, type Viewer } from '../../platform/auth/access-token.js';
import { leanTransaction, type LeanTransaction } from '../../platform/database/lean-transaction.js';
import { SqlBatch } from '../../platform/database/sql-batch.js';
import { OutboxService } from '../../platform/messaging/outbox.service.js';
import type { CreateOrderRequestDto } from './dto/create-order.request.dto.js';
import { encodeCursor } from './order-list.cursor.js';
import type { OrderListQuery } from './order-list.query.js';
import { OrdersException, OrdersErrorCode } from './orders.exception.js';

export interface AcceptedOrder {
  orderId: string;
  /** False when an Idempotency-Key replay returned an order accepted earlier. */
  created: boolean;
}

/** Stable JSON (sorted keys) so the same body always hashes the same for Idempotency-Key checks. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The MariaDB error code of a failed query (TypeORM's QueryFailedError wraps the driver's error). */
function driverErrorCode(err: unknown): string | undefined {
  return (err as { driverError?: { code?: string } }).driverError?.code;
}

const isDuplicateKey = (err: unknown): boolean => driverErrorCode(err) === 'ER_DUP_ENTRY';

/** A NOT NULL column given NULL: in the intake, a customer id known here that the database no longer has (KnownCustomer). */
const isNullColumn = (err: unknown): boolean => driverErrorCode(err) === 'ER_BAD_NULL_ERROR';

/** The customer as the request names them. */
function customerDetails(dto: CreateOrderRequestDto): CustomerDetails {
  const c = dto.customer;
  return { externalId: c.id, name: c.name, email: c.email, phone: c.phone };
}

/** An accepted cancel request: when it was first asked for, and whether this request sent the message. */
export interface CancelRequest {
  cancelRequestedAt: Date;
  sent: boolean;
}

/** An order with everything the API shows of it. */
export interface OrderView {
  order: Order;
  customer: Customer;
  items: OrderItem[];
  history: HistoryEntry[];
}

/** One page of a listing, and the cursor of the next one (null on the last page). */
export interface OrderPage {
  items: OrderSummary[];
  nextCursor: string | null;
}

/** A client's Idempotency-Key and the hash of the request body it came with. */
interface KeyedRequest {
  clientId: string;
  key: string;
  requestHash: string;
}

/** An order being accepted: its new id, its owner (the caller's OAuth client) and the request. */
interface Intake {
  orderId: string;
  owner: string;
  dto: CreateOrderRequestDto;
  customer: CustomerDetails;
  correlationId: string;
  keyed?: KeyedRequest;
}

/**
 * Order intake (experience layer): assign the id, persist RECEIVED with its OrderCreated outbox row
 * in one transaction (docs/architecture.md §7.1), and hand off. No business rules and no calls to system modules.
 */
@Injectable()
export class OrdersService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly orders: OrderRepository,
    private readonly customers: CustomerRepository,
    private readonly idempotencyKeys: IdempotencyKeyRepository,
    private readonly outbox: OutboxService,
    @Inject(appConfig.KEY) private readonly app: ConfigType<typeof appConfig>,
  ) {}

  /** Accepts an order owned by `owner` (the caller's OAuth client); an Idempotency-Key is scoped to that owner. */
  async accept(dto: CreateOrderRequestDto, correlationId: string, owner: string, idempotencyKey?: string): Promise<AcceptedOrder> {
    const keyed = idempotencyKey === undefined ? undefined : { clientId: owner, key: idempotencyKey, requestHash: createHash('sha256').update(canonical(dto)).digest('hex') };
    if (keyed) {
      const earlier = await this.replay(keyed);
      if (earlier) return earlier;
    }
    const intake: Intake = { orderId: newId(), owner, dto, customer: customerDetails(dto), correlationId, keyed };
    try {
      await this.writeOrder(intake);
    } catch (err) {
      // A concurrent request with the same key got there first: answer as it did.
      const earlier = keyed && isDuplicateKey(err) ? await this.replay(keyed) : null;
      if (earlier) return earlier;
      throw err;
    }
    this.outbox.flush();
    return { orderId: intake.orderId, created: true };
  }

  /**
   * The intake's transaction: in one round trip when this process knows the customer's id, else in
   * two. A known id the database refused as stale is forgotten, and the order written the long way.
   */
  private async writeOrder(intake: Intake): Promise<void> {
    const { owner, customer } = intake;
    for (const useKnown of [true, false]) {
      try {
        const readId = await leanTransaction(this.dataSource, (tx) => this.write(tx, intake, useKnown));
        if (readId) this.customers.remember(owner, customer, readId);
        return;
      } catch (err) {
        if (!useKnown || !isNullColumn(err)) throw err;
        this.customers.forget(owner, customer);
      }
    }
  }

  /**
   * The order, as RECEIVED, with its OrderCreated outbox row. With the customer's id known here
   * (`useKnown`), everything + commit in one round trip; else open + the Idempotency-Key and the
   * customer (whose id the order needs), then everything else + commit. Returns the id it read, if any.
   */
  private async write(tx: LeanTransaction, { orderId, owner, dto, customer: details, correlationId, keyed }: Intake, useKnown: boolean): Promise<string | undefined> {
    const at = new Date();
    const currency = dto.currency ?? this.app.defaultCurrency;
    const items = dto.items.map((i) => ({ productId: i.productId, quantity: i.quantity }));
    const first = new SqlBatch();
    // First: a concurrent request with the same key fails here and replays.
    if (keyed) this.idempotencyKeys.stageInsert(first, { ...keyed, orderId });
    const known = useKnown ? this.customers.stageUpsertKnown(first, owner, details, at) : null;
    let readId: string | undefined;
    let last = first;
    if (!known) {
      const customerIdOf = this.customers.stageUpsert(first, owner, details, at);
      readId = customerIdOf(await tx.run(first));
      last = new SqlBatch();
    }
    const customerId = known?.id ?? readId!;
    this.orders.stageReceived(last, {
      id: orderId,
      customerId: known?.column ?? customerId,
      clientId: owner,
      shippingAddress: dto.shippingAddress,
      items,
      currency,
      correlationId,
      at,
    });
    const customer = { id: customerId, name: details.name, email: details.email, ...(details.phone ? { phone: details.phone } : {}) };
    const created = newEnvelope('OrderCreated', orderId, { customer, shippingAddress: { ...dto.shippingAddress }, items, currency }, { correlationId }, at);
    this.outbox.stage(last, [created]);
    await tx.run(last, { commit: true });
    return readId;
  }

  /**
   * The order an earlier request with this key created, or null when the key is new or has expired
   * (older than IDEMPOTENCY_KEY_TTL_HOURS). An expired row is deleted here, so this request's INSERT
   * takes its place; the pruner would remove it later anyway.
   */
  private async replay({ clientId, key, requestHash }: KeyedRequest): Promise<AcceptedOrder | null> {
    const ttlHours = this.app.idempotencyKeyTtlHours;
    const earlier = await this.idempotencyKeys.find(clientId, key, ttlHours);
    if (!earlier) return null;
    if (earlier.expired) {
      await this.idempotencyKeys.deleteIfExpired(clientId, key, ttlHours);
      return null;
    }
    if (earlier.requestHash !== requestHash) {
      throw new OrdersException(OrdersErrorCode.IDEMPOTENCY_CONFLICT, 'This Idempotency-Key was used with a different request body');
    }
    return { orderId: earlier.orderId, created: false };
  }

  /**
   * Asks the saga to cancel the order (docs/adr/0009-order-cancellation.md): the guarded mark and its
   * OrderCancellationRequested outbox row commit together, so the 202 is a promise that the order ends
   * CANCELLED. A repeat, or a request for a CANCELLED order, is accepted again and sends nothing.
   */
  async cancel(orderId: string, viewer: Viewer): Promise<CancelRequest> {
    const request = await leanTransaction(this.dataSource, (tx) => this.requestCancel(tx, orderId, viewer, new Date()));
    if (request.sent) this.outbox.flush();
    return request;
  }

  /** Two round trips when the order is marked (open + mark + read, then the message + commit); otherwise one, and a commit of nothing. */
  private async requestCancel(tx: LeanTransaction, orderId: string, viewer: Viewer, at: Date): Promise<CancelRequest> {
    const first = new SqlBatch();
    const readBack = this.orders.stageCancelRequest(first, orderId, viewer.admin ? null : viewer.owner, at);
    const { marked, order } = readBack(await tx.run(first));
    if (!order || !mayView(viewer, order.clientId)) throw notFound(orderId);
    if (marked) {
      const second = new SqlBatch();
      const requested = newEnvelope('OrderCancellationRequested', orderId, { requestedBy: viewer.owner, at: at.toISOString() }, { correlationId: order.correlationId }, at);
      this.outbox.stage(second, [requested]);
      await tx.run(second, { commit: true });
      return { cancelRequestedAt: at, sent: true };
    }
    // Only a client's cancel request leads to CANCELLED; updatedAt stands in for an order cancelled before requests were recorded.
    if (order.cancelRequestedAt || order.status === 'CANCELLED') return { cancelRequestedAt: order.cancelRequestedAt ?? order.updatedAt, sent: false };
    throw new OrdersException(OrdersErrorCode.ORDER_NOT_CANCELLABLE, `Order ${orderId} is ${order.status}: only an order before SHIPPING_REQUESTED can be cancelled`);
  }

  /** The order, whoever owns it (the caller checks), or null when there is none. */
  async load(orderId: string): Promise<OrderView | null> {
    const order = await this.orders.find(orderId);
    if (!order) return null;
    const [customer, items, history] = await Promise.all([this.customers.get(order.customerId), this.orders.findItems(orderId), this.orders.findHistory(orderId)]);
    return { order, customer, items, history };
  }

  /**
   * One page of the orders `viewer` may see (its own; every client's with `orders.admin`), newest first.
   * One row more than the page tells whether another page follows.
   */
  async list(query: OrderListQuery, viewer: Viewer): Promise<OrderPage> {
    const rows = await this.orders.list({
      owner: viewer.admin ? null : viewer.owner,
      statuses: query.statuses,
      createdFrom: query.createdFrom,
      createdTo: query.createdTo,
      customerEmail: query.customerEmail,
      beforeId: query.beforeId,
      limit: query.limit + 1,
    });
    const items = rows.slice(0, query.limit);
    const more = rows.length > query.limit;
    return { items, nextCursor: more ? encodeCursor(items[items.length - 1].id, query.filterKey) : null };
  }
}

/** The same answer for an order that does not exist and one the caller may not see. */
export function notFound(orderId: string): OrdersException {
  return new OrdersException(OrdersErrorCode.ORDER_NOT_FOUND, `No order ${orderId}`);
}
