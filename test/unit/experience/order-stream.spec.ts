import type { Response } from 'express';
import { endsStream, OrderStream } from '../../../src/experience/orders/events/order-stream.js';
import type { OrderEvent } from '../../../src/order-store/order-event.repository.js';

/** A Response that keeps what is written. */
function fakeResponse() {
  const res = {
    written: [] as string[],
    headers: {} as Record<string, string>,
    writableEnded: false,
    destroyed: false,
    status: () => res,
    setHeader: (name: string, value: string) => (res.headers[name] = value),
    flushHeaders: () => undefined,
    write: (text: string) => res.written.push(text),
    end: () => (res.writableEnded = true),
  };
  return res;
}

const status = (seq: number, s: string, reason?: string): OrderEvent => ({
  orderId: 'o',
  seq,
  kind: 'status',
  data: { orderId: 'o', status: s as never, ...(reason ? { reason } : {}), at: 't' },
});
const shipment = (seq: number, s: string): OrderEvent => ({ orderId: 'o', seq, kind: 'fulfillment', data: { orderId: 'o', shipmentStatus: s as never, at: 't' } });

describe('OrderStream', () => {
  it.each([
    [status(2, 'INVENTORY_FAILED', 'OUT_OF_STOCK'), true],
    [status(2, 'CANCELLED'), true],
    [status(2, 'SHIPPED'), false],
    [shipment(8, 'IN_TRANSIT'), false],
    [shipment(9, 'DELIVERED'), true],
    [shipment(9, 'CANCELLED'), true],
  ])('%j ends the stream: %s', (event, ends) => {
    expect(endsStream(event)).toBe(ends);
  });

  it('writes each event once, after its last seq, as id/event/data blocks, and ends after a final one', () => {
    const res = fakeResponse();
    const stream = new OrderStream('o', res as unknown as Response, 1);
    stream.start(3000);
    expect(res.headers).toMatchObject({
      'Content-Type': expect.stringMatching(/^text\/event-stream/),
      'X-Accel-Buffering': 'no',
      'Cache-Control': expect.stringMatching(/no-cache/),
    });
    expect(stream.send([status(1, 'RECEIVED'), status(2, 'INVENTORY_CHECK_STARTED')])).toBe(false);
    expect(stream.send([status(2, 'INVENTORY_CHECK_STARTED'), status(3, 'INVENTORY_FAILED', 'OUT_OF_STOCK'), status(4, 'RECEIVED')])).toBe(true);
    expect(res.written).toEqual([
      'retry: 3000\n\n',
      'id: 2\nevent: status\ndata: {"orderId":"o","status":"INVENTORY_CHECK_STARTED","at":"t"}\n\n',
      'id: 3\nevent: status\ndata: {"orderId":"o","status":"INVENTORY_FAILED","reason":"OUT_OF_STOCK","at":"t"}\n\n',
    ]);
    expect(res.writableEnded).toBe(true);
    stream.heartbeat();
    expect(res.written).toHaveLength(3);
  });
});
