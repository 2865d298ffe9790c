import { checkOrders, noFacts, type OrderFacts } from '../../../src/platform/invariants/order.checks.js';

/** An order's effect rows, starting from none. */
function facts(rows: Partial<OrderFacts>): OrderFacts {
  return { ...noFacts(), ...rows };
}

describe('checkOrders (I1, I2, I3, I5 per order)', () => {
  it('finds nothing wrong with a SHIPPED order holding one shipment, one charge and its committed stock', () => {
    const shipped = facts({
      shipments: ['DELIVERED'],
      payments: [{ status: 'CHARGED', amount: 20 }],
      lines: [{ productId: 'p1', quantity: 2, status: 'COMMITTED' }],
      items: new Map([['p1', 2]]),
    });
    expect(checkOrders([['o1', 'SHIPPED']], new Map([['o1', shipped]]), new Set())).toEqual([]);
  });

  it('groups unfinished orders by status (I1) and reports named orders that do not exist', () => {
    const violations = checkOrders(
      [
        ['o1', 'RECEIVED'],
        ['o2', 'RECEIVED'],
        ['o3', null],
      ],
      new Map(),
      new Set(['o3']),
    );
    expect(violations).toEqual([
      { invariant: 'I1', orderIds: ['o1', 'o2'], detail: '2 order(s) still RECEIVED' },
      { invariant: 'I1', orderIds: ['o3'], detail: '1 order(s) not found' },
    ]);
  });

  it('lists every problem of one order in one violation per invariant, I2 before I3 before I5', () => {
    const failed = facts({
      shipments: ['PENDING', 'CANCELLED'],
      payments: [{ status: 'CHARGED', amount: 15 }],
      lines: [
        { productId: 'p1', quantity: 1, status: 'RESERVED' },
        { productId: 'p2', quantity: 3, status: 'COMMITTED' },
      ],
    });
    expect(checkOrders([['o1', 'PAYMENT_FAILED']], new Map([['o1', failed]]), new Set())).toEqual([
      { invariant: 'I2', orderIds: ['o1'], detail: 'order PAYMENT_FAILED with 3 unit(s) of stock COMMITTED' },
      {
        invariant: 'I3',
        orderIds: ['o1'],
        detail: 'order PAYMENT_FAILED with 1 unit(s) still RESERVED; order PAYMENT_FAILED with an unrefunded charge of 15; order PAYMENT_FAILED with a shipment PENDING',
      },
      { invariant: 'I5', orderIds: ['o1'], detail: '2 shipments for one order' },
    ]);
  });

  it('holds a SHIPPED order to its items and a live shipment of an order that never asked for one to I2', () => {
    const shipped = facts({ lines: [{ productId: 'p1', quantity: 1, status: 'COMMITTED' }], items: new Map([['p1', 2]]) });
    const confirmed = facts({ shipments: ['IN_TRANSIT'] });
    const violations = checkOrders(
      [
        ['o1', 'SHIPPED'],
        ['o2', 'INVENTORY_CONFIRMED'],
      ],
      new Map([
        ['o1', shipped],
        ['o2', confirmed],
      ]),
      new Set(),
    );
    expect(violations.filter((v) => v.invariant === 'I2')).toEqual([
      { invariant: 'I2', orderIds: ['o1'], detail: 'SHIPPED with 0 live shipment(s); SHIPPED with 0 unrefunded charge(s); p1: ordered 2, committed 1' },
      { invariant: 'I2', orderIds: ['o2'], detail: 'order INVENTORY_CONFIRMED with a shipment IN_TRANSIT' },
    ]);
  });
});
