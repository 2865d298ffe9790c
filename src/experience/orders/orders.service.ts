import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { createHash, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { appConfig } from '../../config/app.config.js';
import { newEnvelope } from '../../contracts/envelope.js';
import { leanTransaction } from '../../platform/database/lean-transaction.js';
import { OutboxService } from '../../platform/messaging/outbox.service.js';
import { OrderStoreService, type OrderView, type StatusView } from '../../platform/order-store/order-store.service.js';
import type { CreateOrderRequestDto } from './dto/create-order.request.dto.js';
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

const DUPLICATE_KEY = 'ER_DUP_ENTRY';

/**
 * Order intake (experience layer): assign the id, persist RECEIVED with its OrderCreated outbox row
 * in one transaction (docs/architecture.md §7.1), and hand off. No business rules and no calls to system modules.
 */
@Injectable()
export class OrdersService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly store: OrderStoreService,
    private readonly outbox: OutboxService,
    @Inject(appConfig.KEY) private readonly app: ConfigType<typeof appConfig>,
  ) {}

  async accept(dto: CreateOrderRequestDto, correlationId: string, idempotency?: { clientId: string; key: string }): Promise<AcceptedOrder> {
    const requestHash = createHash('sha256').update(canonical(dto)).digest('hex');
    if (idempotency) {
      const earlier = await this.replay(idempotency.clientId, idempotency.key, requestHash);
      if (earlier) return earlier;
    }
    const orderId = randomUUID();
    const currency = dto.currency ?? this.app.defaultCurrency;
    try {
      const at = new Date();
      const items = dto.items.map((i) => ({ productId: i.productId, quantity: i.quantity }));
      const customer = { externalId: dto.customer.id, name: dto.customer.name, email: dto.customer.email, phone: dto.customer.phone };
      await leanTransaction(this.dataSource, (tx) =>
        // Two round trips: open + the customer (whose id the order needs), then everything else + commit.
        this.store.writeReceived(
          (batch, last) => tx.run(batch, { commit: last }),
          { id: orderId, customer, shippingAddress: dto.shippingAddress, items, currency, correlationId, at },
          {
            // First: a concurrent request with the same key fails here and replays below.
            first: (batch) => {
              if (idempotency) {
                batch.add('INSERT INTO idempotency_keys (client_id, idem_key, request_hash, order_id) VALUES (?, ?, ?, ?)', [
                  idempotency.clientId,
                  idempotency.key,
                  requestHash,
                  orderId,
                ]);
              }
            },
            second: (batch, customerId) => {
              const created = newEnvelope(
                'OrderCreated',
                orderId,
                {
                  customer: { id: customerId, name: dto.customer.name, email: dto.customer.email, ...(dto.customer.phone ? { phone: dto.customer.phone } : {}) },
                  shippingAddress: { ...dto.shippingAddress },
                  items,
                  currency,
                },
                { correlationId },
                at,
              );
              this.outbox.stage(batch, [created]);
            },
          },
        ),
      );
    } catch (err) {
      if (idempotency && (err as { driverError?: { code?: string }; code?: string }).driverError?.code === DUPLICATE_KEY) {
        const earlier = await this.replay(idempotency.clientId, idempotency.key, requestHash);
        if (earlier) return earlier;
      }
      throw err;
    }
    this.outbox.flush();
    return { orderId, created: true };
  }

  /**
   * The order an earlier request with this key created, or null when the key is new or has expired
   * (older than IDEMPOTENCY_KEY_TTL_HOURS). An expired row is deleted here, so this request's INSERT
   * takes its place; the pruner would remove it later anyway.
   */
  private async replay(clientId: string, key: string, requestHash: string): Promise<AcceptedOrder | null> {
    const ttlHours = this.app.idempotencyKeyTtlHours;
    // The database's clock, the one that stamped created_at.
    const rows = await this.dataSource.query(
      'SELECT request_hash, order_id, created_at < NOW(3) - INTERVAL ? HOUR AS expired FROM idempotency_keys WHERE client_id = ? AND idem_key = ?',
      [ttlHours, clientId, key],
    );
    if (!rows.length) return null;
    if (Number(rows[0].expired)) {
      // Guarded by the same age: a concurrent request may have renewed the key meanwhile.
      await this.dataSource.query('DELETE FROM idempotency_keys WHERE client_id = ? AND idem_key = ? AND created_at < NOW(3) - INTERVAL ? HOUR', [clientId, key, ttlHours]);
      return null;
    }
    if (rows[0].request_hash !== requestHash) {
      throw new OrdersException(OrdersErrorCode.IDEMPOTENCY_CONFLICT, 'This Idempotency-Key was used with a different request body');
    }
    return { orderId: rows[0].order_id, created: false };
  }

  async get(orderId: string): Promise<OrderView> {
    const view = await this.store.findOrder(orderId);
    if (!view) throw new OrdersException(OrdersErrorCode.ORDER_NOT_FOUND, `No order ${orderId}`);
    return view;
  }

  async status(orderId: string): Promise<StatusView> {
    const view = await this.store.findStatus(orderId);
    if (!view) throw new OrdersException(OrdersErrorCode.ORDER_NOT_FOUND, `No order ${orderId}`);
    return view;
  }
}
