import type { Response } from 'express';
import { CLOSED_STATUSES } from '../../../contracts/order-status.js';
import type { OrderEvent } from '../../../order-store/order-event.repository.js';
import { isFinalShipmentStatus } from '../../../order-store/order-patch.js';

/**
 * True when the order can change no more after `event` (docs/order-events.md, Closing): a failed or
 * cancelled order, or a shipment delivered, failed or cancelled (a SHIPPED order's status never moves
 * again, so its shipment's final status is the order's last change).
 */
export function endsStream(event: OrderEvent): boolean {
  return event.kind === 'status' ? CLOSED_STATUSES.has(event.data.status) : isFinalShipmentStatus(event.data.shipmentStatus);
}

/** One client's server-sent event stream of one order. */
export class OrderStream {
  /** The seq of the last event this stream has sent or skipped: it resumes after it. */
  lastSeq: number;
  private ended = false;

  constructor(
    readonly orderId: string,
    private readonly res: Response,
    afterSeq: number,
  ) {
    this.lastSeq = afterSeq;
  }

  get open(): boolean {
    return !this.ended && !this.res.writableEnded && !this.res.destroyed;
  }

  /** The headers, and `retry:` once (how long EventSource waits before it reconnects). */
  start(retryMs: number): void {
    this.res.status(200);
    this.res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    this.res.setHeader('Cache-Control', 'no-cache, no-transform');
    this.res.setHeader('Connection', 'keep-alive');
    // nginx and similar proxies would otherwise hold the events back in their buffers.
    this.res.setHeader('X-Accel-Buffering', 'no');
    this.res.flushHeaders();
    this.res.write(`retry: ${retryMs}\n\n`);
  }

  /** Sends the events after lastSeq, in order; ends the stream after one that makes the order final. True once ended. */
  send(events: readonly OrderEvent[]): boolean {
    for (const event of events) {
      if (!this.open) return true;
      if (event.seq <= this.lastSeq) continue;
      this.res.write(`id: ${event.seq}\nevent: ${event.kind}\ndata: ${JSON.stringify(event.data)}\n\n`);
      this.lastSeq = event.seq;
      if (endsStream(event)) this.end();
    }
    return !this.open;
  }

  /** Moves past events this stream need not send (superseded by the ones it did). */
  skipTo(seq: number): void {
    this.lastSeq = Math.max(this.lastSeq, seq);
  }

  heartbeat(): void {
    if (this.open) this.res.write(': keep-alive\n\n');
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.res.writableEnded) this.res.end();
  }
}
