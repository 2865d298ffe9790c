import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { OrderStatus, ShipmentStatus } from '../contracts/order-status.js';
import { placeholders, type SqlBatch } from '../platform/database/sql-batch.js';

/*
 * Each order's append-only event log (`order_events`), the source of the live status stream
 * (docs/order-events.md, ADR 0010). A row is written in the transaction of the change it records,
 * at `seq` = the order's `version` after that change: dense per order, 1 being RECEIVED.
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

/** A row to insert: order_id, seq, kind, data (JSON text), occurred_at. */
export type OrderEventValues = [orderId: string, seq: number, kind: OrderEventKind, data: string, at: Date];

interface OrderEventRow {
  order_id: string;
  seq: number;
  kind: OrderEventKind;
  /** JSON: text on MariaDB, parsed on MySQL. */
  data: string | object;
}

function toOrderEvent(r: OrderEventRow): OrderEvent {
  const data = typeof r.data === 'string' ? JSON.parse(r.data) : r.data;
  return { orderId: r.order_id, seq: Number(r.seq), kind: r.kind, data } as OrderEvent;
}

@Injectable()
export class OrderEventRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Adds one INSERT of event rows to `batch`. */
  stageEvents(batch: SqlBatch, rows: OrderEventValues[]): void {
    if (!rows.length) return;
    batch.addRows('INSERT INTO order_events (order_id, seq, kind, data, occurred_at)', rows);
  }

  /** The order's events after `afterSeq`, in order (a primary-key range read). */
  async findAfter(orderId: string, afterSeq: number): Promise<OrderEvent[]> {
    const rows = (await this.dataSource.query('SELECT order_id, seq, kind, data FROM order_events WHERE order_id = ? AND seq > ? ORDER BY seq', [
      orderId,
      afterSeq,
    ])) as OrderEventRow[];
    return rows.map(toOrderEvent);
  }

  /** The last seq of each of these orders (absent: no events), in one query. */
  async lastSeqs(orderIds: readonly string[]): Promise<Map<string, number>> {
    if (!orderIds.length) return new Map();
    const rows = (await this.dataSource.query(`SELECT order_id, MAX(seq) AS seq FROM order_events WHERE order_id IN (${placeholders(orderIds)}) GROUP BY order_id`, [
      ...orderIds,
    ])) as Array<{ order_id: string; seq: number }>;
    return new Map(rows.map((r) => [r.order_id, Number(r.seq)]));
  }
}

/** The event row of a status change. */
export function statusEvent(orderId: string, seq: number, status: OrderStatus, reason: string | null, at: Date): OrderEventValues {
  const data: StatusEventData = { orderId, status, ...(reason ? { reason } : {}), at: at.toISOString() };
  return [orderId, seq, 'status', JSON.stringify(data), at];
}

/** The event row of a shipment change. */
export function fulfillmentEvent(orderId: string, seq: number, change: Omit<FulfillmentEventData, 'orderId' | 'at'>, at: Date): OrderEventValues {
  const data: FulfillmentEventData = { orderId, ...change, at: at.toISOString() };
  return [orderId, seq, 'fulfillment', JSON.stringify(data), at];
}
