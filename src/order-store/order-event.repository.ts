import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { OrderStatus, ShipmentStatus } from '../contracts/order-status.js';
import { placeholders, type SqlBatch } from '../platform/database/sql-batch.js';

/*
 * Each order's event log, the source of the live status stream (docs/order-events.md, ADR 0010 and
 * 0013). An event is written in the transaction of the change it records, at `seq` = the order's
 * `version` after that change: dense per order, 1 being RECEIVED. Its rows live in two tables:
 * - status events are the order's `order_status_history` rows (with a `seq`), which every transition
 *   writes anyway;
 * - shipment events, and the status events of orders older than migration 1765400000000, are
 *   `order_events` rows.
 * An order's seqs never repeat across the two, so its log is the two read together, in seq order.
 */

export type OrderEventKind = 'status' | 'fulfillment';

/** `event: status`: the order moved to `status`. */
export interface StatusEventData {
  orderId: string;
  status: OrderStatus;
  reason?: string;
  at: string;
}

/** `event: fulfillment`: the shipment was created or changed status. */
export interface FulfillmentEventData {
  orderId: string;
  shipmentStatus: ShipmentStatus;
  shipmentId?: string;
  carrier?: string;
  trackingNumber?: string;
  estimatedDelivery?: string;
  at: string;
}

export type OrderEvent =
  { orderId: string; seq: number; kind: 'status'; data: StatusEventData } | { orderId: string; seq: number; kind: 'fulfillment'; data: FulfillmentEventData };

/** An `order_events` row to insert: order_id, seq, kind, data (JSON text), occurred_at. */
export type OrderEventValues = [orderId: string, seq: number, kind: OrderEventKind, data: string, at: Date];

interface OrderEventRow {
  seq: number;
  kind: OrderEventKind;
  /** JSON text (order_events), or null for a history row. */
  data: string | null;
  to_status: OrderStatus | null;
  reason: string | null;
  occurred_at: Date | string;
}

function toOrderEvent(orderId: string, r: OrderEventRow): OrderEvent {
  const seq = Number(r.seq);
  if (r.data === null) {
    const at = new Date(r.occurred_at).toISOString();
    return { orderId, seq, kind: 'status', data: { orderId, status: r.to_status!, ...(r.reason ? { reason: r.reason } : {}), at } };
  }
  // The row's own columns hold the order and the time; rows written before 2026-12-08 repeat them in the JSON.
  const data = JSON.parse(r.data) as Record<string, unknown>;
  return { orderId, seq, kind: r.kind, data: { orderId, ...data, at: data.at ?? new Date(r.occurred_at).toISOString() } } as OrderEvent;
}

/**
 * One order's events after a seq, from both tables (see above): two primary- or order-index range reads.
 * The history's rows from before migration 1765400000000 have no seq and are left out: those orders'
 * status events are in order_events.
 */
const FIND_AFTER = `SELECT seq, 'status' AS kind, NULL AS data, to_status, reason, occurred_at FROM order_status_history WHERE order_id = ? AND seq > ?
  UNION ALL
  SELECT seq, kind, data, NULL, NULL, occurred_at FROM order_events WHERE order_id = ? AND seq > ?
  ORDER BY seq`;

@Injectable()
export class OrderEventRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Adds one INSERT of `order_events` rows (shipment events) to `batch`. */
  stageEvents(batch: SqlBatch, rows: OrderEventValues[]): void {
    if (!rows.length) return;
    batch.addRows('INSERT INTO order_events (order_id, seq, kind, data, occurred_at)', rows);
  }

  /** The order's events after `afterSeq`, in order. */
  async findAfter(orderId: string, afterSeq: number): Promise<OrderEvent[]> {
    const rows = (await this.dataSource.query(FIND_AFTER, [orderId, afterSeq, orderId, afterSeq])) as OrderEventRow[];
    return rows.map((r) => toOrderEvent(orderId, r));
  }

  /**
   * The last seq of each of these orders (absent: no such order), in one primary-key read: an order's
   * version is its last event's seq, since every event bumps it and nothing else does.
   */
  async lastSeqs(orderIds: readonly string[]): Promise<Map<string, number>> {
    if (!orderIds.length) return new Map();
    const rows = (await this.dataSource.query(`SELECT id, version FROM orders WHERE id IN (${placeholders(orderIds)})`, [...orderIds])) as Array<{
      id: string;
      version: number;
    }>;
    return new Map(rows.map((r) => [r.id, Number(r.version)]));
  }
}

/**
 * The `order_events` row of a shipment change. Its JSON holds only the change: the order and the time
 * are the row's `order_id` and `occurred_at`, which the reader adds back (a third of the JSON).
 */
export function fulfillmentEvent(orderId: string, seq: number, change: Omit<FulfillmentEventData, 'orderId' | 'at'>, at: Date): OrderEventValues {
  return [orderId, seq, 'fulfillment', JSON.stringify(change), at];
}
