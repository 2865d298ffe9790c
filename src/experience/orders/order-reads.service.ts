import { Injectable } from '@nestjs/common';
import { OrderReadCache, type CachedRead, type CachedView } from '../../order-store/order-read-cache.js';
import { OrderRepository } from '../../order-store/order.repository.js';
import { mayView, type Viewer } from '../../platform/auth/access-token.js';
import { etagOf, type Representation } from '../../platform/http/conditional.js';
import type { OrderStatusResponseDto } from './dto/order.response.dto.js';
import { toOrderResponse } from './order.mapper.js';
import { notFound, OrdersService } from './orders.service.js';

/** A read's body, and the owner it must be checked against. */
type Loaded = { owner: string | null; body: object } | null;

/**
 * The order reads, as sent: the body as JSON with its ETag, from the read cache when it has them
 * (then no database query at all), else from the database, then cached (ADR 0011). Ownership is
 * checked on every answer, cached or not: another client's order is a 404.
 */
@Injectable()
export class OrderReadsService {
  constructor(
    private readonly orders: OrdersService,
    private readonly records: OrderRepository,
    private readonly cache: OrderReadCache,
  ) {}

  /** `GET /api/orders/{id}/status`. */
  status(orderId: string, viewer: Viewer): Promise<Representation> {
    return this.read('status', orderId, viewer, async () => {
      const s = await this.records.findStatus(orderId);
      if (!s) return null;
      const body: OrderStatusResponseDto = { orderId: s.orderId, status: s.status, ...(s.reason ? { reason: s.reason } : {}), updatedAt: s.updatedAt.toISOString() };
      return { owner: s.clientId, body };
    });
  }

  /** `GET /api/orders/{id}`. */
  order(orderId: string, viewer: Viewer): Promise<Representation> {
    return this.read('order', orderId, viewer, async () => {
      const view = await this.orders.load(orderId);
      return view && { owner: view.order.clientId, body: toOrderResponse(view) };
    });
  }

  private async read(view: CachedView, orderId: string, viewer: Viewer, load: () => Promise<Loaded>): Promise<Representation> {
    const entry = (await this.cache.get(view, orderId)) ?? (await this.fill(view, orderId, load));
    if (!entry || !mayView(viewer, entry.owner)) throw notFound(orderId);
    return entry;
  }

  /** Reads the database and caches what it found (an order that does not exist is not cached: it may be created any moment). */
  private async fill(view: CachedView, orderId: string, load: () => Promise<Loaded>): Promise<CachedRead | null> {
    const loaded = await load();
    if (!loaded) return null;
    const json = JSON.stringify(loaded.body);
    const entry = { owner: loaded.owner, etag: etagOf(json), json };
    this.cache.set(view, orderId, entry);
    return entry;
  }
}
