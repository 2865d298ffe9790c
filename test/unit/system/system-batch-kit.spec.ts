import type { EntityManager } from 'typeorm';
import { correlation } from '../../../src/platform/observability/correlation.js';
import { orderIdsOf, readByOrder } from '../../../src/system/common/read-by-order.js';
import { SystemBatchHandler } from '../../../src/system/common/system-batch-handler.js';
import { queryOnlyManager } from '../../support/query-only-manager.js';

describe('readByOrder', () => {
  const SELECT = 'SELECT id, order_id, status FROM things';

  it('reads the compensated orders, the forward rows plainly and the compensating rows locked, in one round trip', async () => {
    const { tx, calls } = queryOnlyManager(() => [[{ order_id: 'o3' }], [{ id: 't1', order_id: 'o1', status: 'A' }], [{ id: 't3', order_id: 'o3', status: 'B' }]]);
    const read = await readByOrder(tx, 'payment', SELECT, { forward: ['o1', 'o2'], compensating: ['o3'] }, (row: { id: string; order_id: string; status: string }) => ({
      id: row.id,
      status: row.status,
    }));
    expect(calls).toHaveLength(1);
    const statements = calls[0].sql.split(';\n');
    expect(statements).toEqual([
      'SELECT order_id FROM compensated_orders WHERE system_module = ? AND order_id IN (?,?,?)',
      `${SELECT} WHERE order_id IN (?,?)`,
      `${SELECT} WHERE order_id IN (?) FOR UPDATE`,
    ]);
    expect(calls[0].params).toEqual(['payment', 'o1', 'o2', 'o3', 'o1', 'o2', 'o3']);
    expect(read.rows).toEqual(
      new Map([
        ['o1', { id: 't1', status: 'A' }],
        ['o3', { id: 't3', status: 'B' }],
      ]),
    );
    expect(read.compensated).toEqual(new Set(['o3']));
  });

  it('keeps the locked row of an order that is in both lists', async () => {
    const { tx } = queryOnlyManager(() => [[], [{ order_id: 'o1', v: 'plain' }], [{ order_id: 'o1', v: 'locked' }]]);
    const read = await readByOrder(tx, 'shipping', SELECT, { forward: ['o1'], compensating: ['o1'] }, (row: { order_id: string; v: string }) => row.v);
    expect(read.rows.get('o1')).toBe('locked');
  });

  it('lists the distinct orders of one message type, in the order they first appear', () => {
    const messages = [
      { eventType: 'A', orderId: 'o2' },
      { eventType: 'B', orderId: 'o1' },
      { eventType: 'A', orderId: 'o3' },
      { eventType: 'A', orderId: 'o2' },
    ];
    expect(orderIdsOf(messages, 'A')).toEqual(['o2', 'o3']);
  });
});

describe('SystemBatchHandler', () => {
  type Message = { correlationId: string; orderId: string; eventId: string };

  class Recorder extends SystemBatchHandler<Message, string[]> {
    readonly steps: string[] = [];

    protected async read(messages: Message[]): Promise<string[]> {
      this.steps.push(`read ${messages.length}`);
      return [];
    }

    protected decide(message: Message, index: number, batch: string[], now: Date): void {
      batch.push(`${index}:${message.orderId}:${correlation.current()?.eventId}:${now instanceof Date}`);
    }

    protected async write(batch: string[]): Promise<void> {
      this.steps.push(`write ${batch.join(' ')}`);
    }
  }

  const tx = {} as EntityManager;
  const message = (orderId: string, eventId: string): Message => ({ correlationId: `c-${orderId}`, orderId, eventId });

  it('reads once, decides each message in order in its own trace context, then writes once', async () => {
    const handler = new Recorder();
    await handler.handleMany([message('o1', 'e1'), message('o2', 'e2')], tx);
    expect(handler.steps).toEqual(['read 2', 'write 0:o1:e1:true 1:o2:e2:true']);
  });

  it('does nothing for an empty batch', async () => {
    const handler = new Recorder();
    await handler.handleMany([], tx);
    expect(handler.steps).toEqual([]);
  });
});
