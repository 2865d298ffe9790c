import { jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { newEnvelope } from '../../../src/contracts/envelope.js';
import type { OrderLine } from '../../../src/contracts/messages.js';
import { InventoryModule } from '../../../src/system/inventory/inventory.module.js';
import { correlation } from '../../../src/platform/observability/correlation.js';
import { InventoryService, type InventoryCommand } from '../../../src/system/inventory/inventory.service.js';
import { InventorySimulator } from '../../../src/system/inventory/inventory.simulator.js';
import { expectDelay, startSystemHarness, type SystemHarness } from './system-harness.js';

describe('inventory system (real MariaDB)', () => {
  let h: SystemHarness;
  let inventory: InventoryService;
  let simulator: InventorySimulator;

  beforeAll(async () => {
    h = await startSystemHarness(InventoryModule);
    inventory = h.moduleRef.get(InventoryService);
    simulator = h.moduleRef.get(InventorySimulator);
  });
  afterAll(() => h?.close());
  afterEach(() => simulator.reset());

  const trace = (orderId: string) => ({ correlationId: `corr-${orderId}` });
  const reserve = (orderId: string, items: OrderLine[], attempt = 1) => {
    const m = newEnvelope('ReserveStock', orderId, { items, currency: 'EUR', attempt }, trace(orderId));
    return h.inTx((tx) => inventory.handleMany([m], tx)).then(() => m);
  };
  const release = (orderId: string) => {
    const m = newEnvelope('ReleaseStock', orderId, { reason: 'PAYMENT_FAILED' }, trace(orderId));
    return h.inTx((tx) => inventory.handleMany([m], tx)).then(() => m);
  };
  const commit = (orderId: string) => {
    const m = newEnvelope('CommitStock', orderId, {}, trace(orderId));
    return h.inTx((tx) => inventory.handleMany([m], tx)).then(() => m);
  };
  const reservations = (orderId: string) =>
    h.dataSource.query('SELECT product_id, quantity, unit_price, status FROM stock_reservations WHERE order_id = ? ORDER BY product_id', [orderId]) as Promise<
      Array<{ product_id: string; quantity: number; unit_price: number; status: string }>
    >;

  it('reserves real stock, prices each line from the catalogue and stages the reply and the update event', async () => {
    const a = await h.product(10, 10.25);
    const b = await h.product(5, 3.1);
    const orderId = randomUUID();
    // The same product on two lines is held as one reservation line.
    const m = await reserve(orderId, [
      { productId: a, quantity: 2 },
      { productId: b, quantity: 1 },
      { productId: a, quantity: 1 },
    ]);

    expect(await h.stock(a)).toEqual({ onHand: 10, reserved: 3 });
    expect(await h.stock(b)).toEqual({ onHand: 5, reserved: 1 });
    expect(await reservations(orderId)).toEqual(
      [
        { product_id: a, quantity: 3, unit_price: 10.25, status: 'RESERVED' },
        { product_id: b, quantity: 1, unit_price: 3.1, status: 'RESERVED' },
      ].sort((x, y) => x.product_id.localeCompare(y.product_id)),
    );

    const staged = await h.staged(orderId);
    expect(staged.map((s) => [s.topic, s.eventType])).toEqual([
      ['inventory-replies', 'StockReservationConfirmed'],
      ['inventory-updates', 'StockReserved'],
    ]);
    expect(staged[0].envelope).toMatchObject({ orderId, correlationId: m.correlationId, causationId: m.eventId, schemaVersion: 1 });
    expect(staged[0].envelope.payload).toEqual({
      items: [
        { productId: a, quantity: 3, unitPrice: 10.25 },
        { productId: b, quantity: 1, unitPrice: 3.1 },
      ],
      total: 33.85,
      currency: 'EUR',
    });
    expect(staged[1].envelope.payload).toEqual({
      items: [
        { productId: a, quantity: 3 },
        { productId: b, quantity: 1 },
      ],
    });
  });

  it('answers after the simulated latency without holding the handler', async () => {
    const a = await h.product(10, 1);
    simulator.configure({ latency: { minMs: 1500, maxMs: 1500 } });
    const orderId = randomUUID();
    const started = Date.now();
    await reserve(orderId, [{ productId: a, quantity: 1 }]);
    const finished = Date.now();
    expect(finished - started).toBeLessThan(1500);
    const staged = await h.staged(orderId);
    expect(staged).toHaveLength(2);
    for (const s of staged) expectDelay(s, started, finished, 1500);
    // The state change itself is immediate.
    expect(await h.stock(a)).toEqual({ onHand: 10, reserved: 1 });
  });

  it('rejects an unknown product for good and reserves nothing, not even the known lines', async () => {
    const a = await h.product(10, 1);
    const orderId = randomUUID();
    await reserve(orderId, [
      { productId: a, quantity: 1 },
      { productId: 'NO-SUCH-SKU', quantity: 1 },
    ]);
    expect(await h.stock(a)).toEqual({ onHand: 10, reserved: 0 });
    expect(await reservations(orderId)).toEqual([]);
    const staged = await h.staged(orderId);
    expect(staged).toHaveLength(1);
    expect(staged[0]).toMatchObject({ topic: 'inventory-replies', eventType: 'StockReservationRejected' });
    expect(staged[0].envelope.payload).toMatchObject({ reason: 'UNKNOWN_PRODUCT', transient: false });
    expect(staged[0].envelope.payload.detail).toContain('NO-SUCH-SKU');
  });

  it('rejects a line beyond the available stock (on hand minus reserved) as OUT_OF_STOCK', async () => {
    const a = await h.product(5, 1);
    await reserve(randomUUID(), [{ productId: a, quantity: 3 }]);
    const orderId = randomUUID();
    await reserve(orderId, [{ productId: a, quantity: 3 }]);
    expect(await h.stock(a)).toEqual({ onHand: 5, reserved: 3 });
    expect(await reservations(orderId)).toEqual([]);
    const [reply] = await h.staged(orderId);
    expect(reply.eventType).toBe('StockReservationRejected');
    expect(reply.envelope.payload).toMatchObject({ reason: 'OUT_OF_STOCK', transient: false });
  });

  it('answers a simulated outage as transient with nothing reserved, and a retry then succeeds', async () => {
    const a = await h.product(5, 2);
    const orderId = randomUUID();
    simulator.configure({ failureRate: 1 });
    await reserve(orderId, [{ productId: a, quantity: 2 }]);
    expect(await h.stock(a)).toEqual({ onHand: 5, reserved: 0 });
    expect(await reservations(orderId)).toEqual([]);
    simulator.reset();
    await reserve(orderId, [{ productId: a, quantity: 2 }], 2);
    const staged = await h.staged(orderId);
    expect(staged.map((s) => s.eventType)).toEqual(['StockReservationRejected', 'StockReservationConfirmed', 'StockReserved']);
    expect(staged[0].envelope.payload).toMatchObject({ reason: 'INVENTORY_UNAVAILABLE', transient: true });
    expect(await h.stock(a)).toEqual({ onHand: 5, reserved: 2 });
  });

  it('reserves once per order: a retried ReserveStock confirms again with the first prices', async () => {
    const a = await h.product(10, 4.5);
    const orderId = randomUUID();
    await reserve(orderId, [{ productId: a, quantity: 2 }]);
    await h.dataSource.query('UPDATE products SET unit_price = 99 WHERE product_id = ?', [a]);
    // Even a simulated outage does not turn a held reservation into a rejection.
    simulator.configure({ failureRate: 1 });
    await reserve(orderId, [{ productId: a, quantity: 2 }], 2);
    expect(await h.stock(a)).toEqual({ onHand: 10, reserved: 2 });
    expect(await reservations(orderId)).toHaveLength(1);
    const replies = (await h.staged(orderId)).filter((s) => s.topic === 'inventory-replies');
    expect(replies.map((r) => r.eventType)).toEqual(['StockReservationConfirmed', 'StockReservationConfirmed']);
    expect(replies[1].envelope.payload).toEqual(replies[0].envelope.payload);
    expect(replies[1].envelope.payload).toMatchObject({ items: [{ productId: a, quantity: 2, unitPrice: 4.5 }], total: 9 });
    expect((await h.staged(orderId)).filter((s) => s.eventType === 'StockReserved')).toHaveLength(1);
  });

  it('gives the last units to exactly one of two concurrent orders (rows locked FOR UPDATE)', async () => {
    const a = await h.product(1, 1);
    const [o1, o2] = [randomUUID(), randomUUID()];
    await Promise.all([reserve(o1, [{ productId: a, quantity: 1 }]), reserve(o2, [{ productId: a, quantity: 1 }])]);
    expect(await h.stock(a)).toEqual({ onHand: 1, reserved: 1 });
    const outcomes = [...(await h.staged(o1)), ...(await h.staged(o2))]
      .filter((s) => s.topic === 'inventory-replies')
      .map((s) => s.eventType)
      .sort();
    expect(outcomes).toEqual(['StockReservationConfirmed', 'StockReservationRejected']);
  });

  it('releases a reservation back to stock once; a second release is a no-op that still answers', async () => {
    const a = await h.product(10, 1);
    const b = await h.product(10, 1);
    const orderId = randomUUID();
    await reserve(orderId, [
      { productId: a, quantity: 4 },
      { productId: b, quantity: 1 },
    ]);
    const m = await release(orderId);
    expect(await h.stock(a)).toEqual({ onHand: 10, reserved: 0 });
    expect(await h.stock(b)).toEqual({ onHand: 10, reserved: 0 });
    expect((await reservations(orderId)).map((r) => r.status)).toEqual(['RELEASED', 'RELEASED']);
    await release(orderId);
    expect(await h.stock(a)).toEqual({ onHand: 10, reserved: 0 });

    const staged = (await h.staged(orderId)).slice(2);
    expect(staged.map((s) => [s.topic, s.eventType])).toEqual([
      ['inventory-replies', 'StockReleaseConfirmed'],
      ['inventory-updates', 'StockReleased'],
      ['inventory-replies', 'StockReleaseConfirmed'],
    ]);
    expect(staged[0].envelope).toMatchObject({ causationId: m.eventId, payload: { released: true } });
    expect(staged[1].envelope.payload.items).toEqual(
      expect.arrayContaining([
        { productId: a, quantity: 4 },
        { productId: b, quantity: 1 },
      ]),
    );
    expect(staged[2].envelope.payload).toEqual({ released: false });
  });

  it('rolls a release back when a line left RESERVED between its read and its update (status-guarded update)', async () => {
    const a = await h.product(10, 1);
    const b = await h.product(10, 1);
    const orderId = randomUUID();
    await reserve(orderId, [
      { productId: a, quantity: 2 },
      { productId: b, quantity: 1 },
    ]);
    const m = newEnvelope('ReleaseStock', orderId, { reason: 'PAYMENT_FAILED' }, trace(orderId));
    await expect(
      h.inTx(async (tx) => {
        // The transaction's snapshot starts here, so the handler still reads both lines as RESERVED…
        await tx.query('SELECT COUNT(*) AS n FROM stock_reservations WHERE order_id = ?', [orderId]);
        // …while another transaction has meanwhile committed one of them.
        await h.dataSource.query(`UPDATE stock_reservations SET status = 'COMMITTED' WHERE order_id = ? AND product_id = ?`, [orderId, b]);
        await inventory.handleMany([m], tx);
      }),
    ).rejects.toThrow(/were RESERVED when read, but only 1 when RELEASED/);
    // Everything the release wrote rolled back: stock, lines and messages.
    expect(await h.stock(a)).toEqual({ onHand: 10, reserved: 2 });
    expect(await h.stock(b)).toEqual({ onHand: 10, reserved: 1 });
    expect((await reservations(orderId)).map((r) => [r.product_id, r.status])).toEqual(
      [
        [a, 'RESERVED'],
        [b, 'COMMITTED'],
      ].sort((x, y) => x[0].localeCompare(y[0])),
    );
    expect((await h.staged(orderId)).map((s) => s.eventType)).toEqual(['StockReservationConfirmed', 'StockReserved']);
  });

  it('refuses to release a line whose product no longer exists, and rolls back', async () => {
    const a = await h.product(10, 1);
    const orderId = randomUUID();
    await reserve(orderId, [{ productId: a, quantity: 2 }]);
    await h.dataSource.query('DELETE FROM products WHERE product_id = ?', [a]);
    await expect(release(orderId)).rejects.toThrow(/no longer exists/);
    expect((await reservations(orderId)).map((r) => r.status)).toEqual(['RESERVED']);
    expect((await h.staged(orderId)).map((s) => s.eventType)).toEqual(['StockReservationConfirmed', 'StockReserved']);
  });

  it('answers a release for an order that holds nothing with released=false', async () => {
    const orderId = randomUUID();
    await release(orderId);
    const staged = await h.staged(orderId);
    expect(staged.map((s) => s.eventType)).toEqual(['StockReleaseConfirmed']);
    expect(staged[0].envelope.payload).toEqual({ released: false });
  });

  it('refuses to reserve again after a release (a late retry after the saga gave up)', async () => {
    const a = await h.product(10, 1);
    const orderId = randomUUID();
    await reserve(orderId, [{ productId: a, quantity: 2 }]);
    await release(orderId);
    await reserve(orderId, [{ productId: a, quantity: 2 }], 3);
    expect(await h.stock(a)).toEqual({ onHand: 10, reserved: 0 });
    const last = (await h.staged(orderId)).at(-1)!;
    expect(last.eventType).toBe('StockReservationRejected');
    expect(last.envelope.payload).toMatchObject({ reason: 'ORDER_COMPENSATED', transient: false });
  });

  it('answers every command, a retried one the same, and leaves the stock where the commands put it', async () => {
    const a = await h.product(10, 1);
    const b = await h.product(10, 1);
    const orderId = randomUUID();
    const run = (m: InventoryCommand) => h.inTx((tx) => inventory.handleMany([m], tx));
    const reserveStock = (items: OrderLine[]) => newEnvelope('ReserveStock', orderId, { items, currency: 'EUR', attempt: 1 }, trace(orderId));
    const items = [
      { productId: b, quantity: 1 },
      { productId: a, quantity: 2 },
    ];
    await run(reserveStock([{ productId: 'NO-SUCH-SKU', quantity: 1 }]));
    await run(reserveStock(items));
    await run(reserveStock(items)); // a retry, confirmed again
    await run(newEnvelope('CommitStock', orderId, {}, trace(orderId)));
    await run(newEnvelope('CommitStock', orderId, {}, trace(orderId))); // nothing to commit: no reply
    await run(newEnvelope('ReleaseStock', orderId, { reason: 'PAYMENT_FAILED' }, trace(orderId)));
    expect(await h.stock(a)).toEqual({ onHand: 8, reserved: 0 });

    const other = randomUUID();
    await reserve(other, [{ productId: a, quantity: 1 }]);
    await run(newEnvelope('ReleaseStock', other, { reason: 'PAYMENT_FAILED' }, trace(other)));
    expect(await h.stock(a)).toEqual({ onHand: 8, reserved: 0 });
  });

  it('commits a reservation when the order ships: stock leaves on hand and reserved, no reply', async () => {
    const a = await h.product(10, 1);
    const orderId = randomUUID();
    await reserve(orderId, [{ productId: a, quantity: 3 }]);
    await commit(orderId);
    expect(await h.stock(a)).toEqual({ onHand: 7, reserved: 0 });
    expect((await reservations(orderId)).map((r) => r.status)).toEqual(['COMMITTED']);
    await commit(orderId);
    await release(orderId);
    expect(await h.stock(a)).toEqual({ onHand: 7, reserved: 0 });
    const staged = (await h.staged(orderId)).slice(2);
    expect(staged.map((s) => [s.topic, s.eventType])).toEqual([
      ['inventory-updates', 'StockCommitted'],
      ['inventory-replies', 'StockReleaseConfirmed'],
    ]);
    expect(staged[0].envelope.payload).toEqual({ items: [{ productId: a, quantity: 3 }] });
    expect(staged[1].envelope.payload).toEqual({ released: false });
  });

  describe('a batch of commands in one transaction (handleMany)', () => {
    const reserveStock = (orderId: string, items: OrderLine[], attempt = 1) => newEnvelope('ReserveStock', orderId, { items, currency: 'EUR', attempt }, trace(orderId));
    const releaseStock = (orderId: string) => newEnvelope('ReleaseStock', orderId, { reason: 'PAYMENT_FAILED' }, trace(orderId));
    const commitStock = (orderId: string) => newEnvelope('CommitStock', orderId, {}, trace(orderId));
    const many = (messages: InventoryCommand[]) => h.inTx((tx) => inventory.handleMany(messages, tx));
    const replies = async (orderId: string) => (await h.staged(orderId)).filter((s) => s.topic === 'inventory-replies');

    it('reserves for several orders wanting the same products, each against the stock the earlier ones left', async () => {
      const a = await h.product(10, 2);
      const b = await h.product(5, 3);
      const [o1, o2, o3] = [randomUUID(), randomUUID(), randomUUID()];
      await h.inTx((tx) =>
        inventory.handleMany(
          [
            reserveStock(o1, [
              { productId: a, quantity: 2 },
              { productId: b, quantity: 1 },
            ]),
            reserveStock(o2, [{ productId: a, quantity: 3 }]),
            reserveStock(o3, [
              { productId: b, quantity: 2 },
              { productId: a, quantity: 1 },
            ]),
          ],
          tx,
        ),
      );

      expect(await h.stock(a)).toEqual({ onHand: 10, reserved: 6 });
      expect(await h.stock(b)).toEqual({ onHand: 5, reserved: 3 });
      const sorted = <T extends { product_id: string }>(rows: T[]) => rows.sort((x, y) => x.product_id.localeCompare(y.product_id));
      expect(await reservations(o1)).toEqual(
        sorted([
          { product_id: a, quantity: 2, unit_price: 2, status: 'RESERVED' },
          { product_id: b, quantity: 1, unit_price: 3, status: 'RESERVED' },
        ]),
      );
      expect(await reservations(o2)).toEqual([{ product_id: a, quantity: 3, unit_price: 2, status: 'RESERVED' }]);
      expect(await reservations(o3)).toEqual(
        sorted([
          { product_id: a, quantity: 1, unit_price: 2, status: 'RESERVED' },
          { product_id: b, quantity: 2, unit_price: 3, status: 'RESERVED' },
        ]),
      );
      for (const [orderId, total] of [
        [o1, 7],
        [o2, 6],
        [o3, 8],
      ] as const) {
        const staged = await h.staged(orderId);
        expect(staged.map((s) => s.eventType)).toEqual(['StockReservationConfirmed', 'StockReserved']);
        expect(staged[0].envelope.payload).toMatchObject({ total, currency: 'EUR' });
        expect(staged[0].envelope.correlationId).toBe(`corr-${orderId}`);
      }
    });

    it('confirms twice but reserves once when a saga retry puts two ReserveStock of one order in one batch', async () => {
      const a = await h.product(10, 4.5);
      const orderId = randomUUID();
      const items = [{ productId: a, quantity: 2 }];
      const [first, second] = [reserveStock(orderId, items), reserveStock(orderId, items, 2)];
      await many([first, second]);
      expect(await h.stock(a)).toEqual({ onHand: 10, reserved: 2 });
      expect(await reservations(orderId)).toEqual([{ product_id: a, quantity: 2, unit_price: 4.5, status: 'RESERVED' }]);
      const staged = await h.staged(orderId);
      expect(staged.map((s) => s.eventType)).toEqual(['StockReservationConfirmed', 'StockReserved', 'StockReservationConfirmed']);
      expect(staged.map((s) => s.envelope.causationId)).toEqual([first.eventId, first.eventId, second.eventId]);
      expect(staged[2].envelope.payload).toEqual(staged[0].envelope.payload);
      expect(staged[2].envelope.payload).toEqual({ items: [{ productId: a, quantity: 2, unitPrice: 4.5 }], total: 9, currency: 'EUR' });
    });

    it('reserves and releases one order in one batch: stock back, line RELEASED, replies in order', async () => {
      const a = await h.product(10, 1);
      const b = await h.product(10, 1);
      const orderId = randomUUID();
      const reserveMessage = reserveStock(orderId, [
        { productId: b, quantity: 3 },
        { productId: a, quantity: 1 },
      ]);
      const releaseMessage = releaseStock(orderId);
      await h.inTx((tx) => inventory.handleMany([reserveMessage, releaseMessage], tx));
      expect(await h.stock(a)).toEqual({ onHand: 10, reserved: 0 });
      expect(await h.stock(b)).toEqual({ onHand: 10, reserved: 0 });
      expect((await reservations(orderId)).map((r) => r.status)).toEqual(['RELEASED', 'RELEASED']);
      const staged = await h.staged(orderId);
      expect(staged.map((s) => [s.eventType, s.envelope.causationId])).toEqual([
        ['StockReservationConfirmed', reserveMessage.eventId],
        ['StockReserved', reserveMessage.eventId],
        ['StockReleaseConfirmed', releaseMessage.eventId],
        ['StockReleased', releaseMessage.eventId],
      ]);
      expect(staged[2].envelope.payload).toEqual({ released: true });
      expect(staged[3].envelope.payload.items).toEqual(
        expect.arrayContaining([
          { productId: a, quantity: 1 },
          { productId: b, quantity: 3 },
        ]),
      );
      // A late retry in a later batch finds the order closed.
      await many([reserveStock(orderId, [{ productId: a, quantity: 1 }], 2)]);
      expect((await replies(orderId)).at(-1)!.envelope.payload).toMatchObject({ reason: 'ORDER_COMPENSATED', transient: false });
    });

    it('rejects the order that is short of stock and confirms the others, reserving nothing for the short one', async () => {
      const a = await h.product(3, 1);
      const b = await h.product(10, 1);
      const [o1, o2, o3] = [randomUUID(), randomUUID(), randomUUID()];
      await many([
        reserveStock(o1, [{ productId: a, quantity: 2 }]),
        reserveStock(o2, [
          { productId: b, quantity: 1 },
          { productId: a, quantity: 2 },
        ]),
        reserveStock(o3, [{ productId: b, quantity: 1 }]),
      ]);
      expect(await h.stock(a)).toEqual({ onHand: 3, reserved: 2 });
      expect(await h.stock(b)).toEqual({ onHand: 10, reserved: 1 });
      expect(await reservations(o2)).toEqual([]);
      expect((await h.staged(o1)).map((s) => s.eventType)).toEqual(['StockReservationConfirmed', 'StockReserved']);
      expect((await h.staged(o3)).map((s) => s.eventType)).toEqual(['StockReservationConfirmed', 'StockReserved']);
      const rejected = await h.staged(o2);
      expect(rejected.map((s) => s.eventType)).toEqual(['StockReservationRejected']);
      expect(rejected[0].envelope.payload).toEqual({ reason: 'OUT_OF_STOCK', transient: false, detail: `${a} wanted 2, available 1` });
    });

    it('decides each command against the stock an earlier commit or release in the batch left', async () => {
      const a = await h.product(3, 1);
      const b = await h.product(2, 1);
      const [held, released] = [randomUUID(), randomUUID()];
      await reserve(held, [{ productId: a, quantity: 2 }]);
      await reserve(released, [{ productId: b, quantity: 2 }]);
      const [o1, o2, o3] = [randomUUID(), randomUUID(), randomUUID()];
      await h.inTx((tx) =>
        inventory.handleMany(
          [
            reserveStock(o1, [{ productId: b, quantity: 1 }]), // b is all reserved: rejected
            commitStock(held), // a: 1 left on hand, none reserved
            releaseStock(released), // b: 2 available again
            reserveStock(o2, [
              { productId: a, quantity: 1 },
              { productId: b, quantity: 2 },
            ]),
            reserveStock(o3, [{ productId: a, quantity: 1 }]), // a: none left
          ],
          tx,
        ),
      );
      expect(await h.stock(a)).toEqual({ onHand: 1, reserved: 1 });
      expect(await h.stock(b)).toEqual({ onHand: 2, reserved: 2 });
      expect((await replies(o1))[0].envelope.payload).toMatchObject({ reason: 'OUT_OF_STOCK', detail: `${b} wanted 1, available 0` });
      expect((await replies(o2)).map((r) => r.eventType)).toEqual(['StockReservationConfirmed']);
      expect((await replies(o3))[0].envelope.payload).toMatchObject({ reason: 'OUT_OF_STOCK', detail: `${a} wanted 1, available 0` });
      expect((await reservations(held)).map((r) => r.status)).toEqual(['COMMITTED']);
      expect((await reservations(released)).map((r) => r.status)).toEqual(['RELEASED']);
      expect((await h.staged(held)).map((s) => s.eventType).slice(2)).toEqual(['StockCommitted']);
    });

    it('releases and commits several orders in one batch', async () => {
      const a = await h.product(10, 1);
      const b = await h.product(10, 1);
      const [o1, o2, o3] = [randomUUID(), randomUUID(), randomUUID()];
      await reserve(o1, [
        { productId: b, quantity: 1 },
        { productId: a, quantity: 2 },
      ]);
      await reserve(o2, [{ productId: a, quantity: 3 }]);
      await h.inTx((tx) => inventory.handleMany([releaseStock(o1), commitStock(o2), commitStock(o3), releaseStock(o3)], tx));
      expect(await h.stock(a)).toEqual({ onHand: 7, reserved: 0 });
      expect(await h.stock(b)).toEqual({ onHand: 10, reserved: 0 });
      expect((await h.staged(o1)).map((s) => s.eventType).slice(2)).toEqual(['StockReleaseConfirmed', 'StockReleased']);
      expect((await h.staged(o2)).map((s) => s.eventType).slice(2)).toEqual(['StockCommitted']);
      expect((await h.staged(o3)).map((s) => [s.eventType, s.envelope.payload])).toEqual([['StockReleaseConfirmed', { released: false }]]);
    });

    it('rolls the whole batch back when a guarded status update finds a line changed since the read', async () => {
      const a = await h.product(10, 1);
      const b = await h.product(10, 1);
      const c = await h.product(10, 1);
      const orderId = randomUUID();
      await reserve(orderId, [
        { productId: a, quantity: 2 },
        { productId: b, quantity: 1 },
      ]);
      const other = randomUUID();
      await expect(
        h.inTx(async (tx) => {
          // The snapshot starts here: the batch still reads both lines as RESERVED…
          await tx.query('SELECT COUNT(*) AS n FROM stock_reservations WHERE order_id = ?', [orderId]);
          // …while another transaction has meanwhile committed one of them.
          await h.dataSource.query(`UPDATE stock_reservations SET status = 'COMMITTED' WHERE order_id = ? AND product_id = ?`, [orderId, b]);
          await inventory.handleMany([reserveStock(other, [{ productId: c, quantity: 4 }]), releaseStock(orderId)], tx);
        }),
      ).rejects.toThrow(/were RESERVED when read, but only 1 when RELEASED/);
      // Nothing of the batch was written: not the other order's reservation, nor any stock or message.
      expect(await h.stock(a)).toEqual({ onHand: 10, reserved: 2 });
      expect(await h.stock(b)).toEqual({ onHand: 10, reserved: 1 });
      expect(await h.stock(c)).toEqual({ onHand: 10, reserved: 0 });
      expect(await reservations(other)).toEqual([]);
      expect(await h.staged(other)).toEqual([]);
      expect((await h.staged(orderId)).map((s) => s.eventType)).toEqual(['StockReservationConfirmed', 'StockReserved']);
    });

    it('draws one simulator decision per command, in order, and stages each reply with its own delay', async () => {
      const a = await h.product(10, 1);
      const [o1, o2, o3] = [randomUUID(), randomUUID(), randomUUID()];
      const decide = jest
        .spyOn(simulator, 'decide')
        .mockReturnValueOnce({ outcome: 'available', delayMs: 1200 })
        .mockReturnValueOnce({ outcome: 'unavailable', delayMs: 400 })
        .mockReturnValueOnce({ outcome: 'available', delayMs: 800 });
      const latency = jest.spyOn(simulator, 'latency').mockReturnValueOnce(1600);
      const logged: Array<[string, string | undefined]> = [];
      const logger = (inventory as unknown as { logger: { log: (m: string) => void } }).logger;
      const log = jest.spyOn(logger, 'log').mockImplementation((m: string) => void logged.push([m, correlation.current()?.correlationId]));
      try {
        const started = Date.now();
        await many([
          reserveStock(o1, [{ productId: a, quantity: 1 }]),
          reserveStock(o2, [{ productId: a, quantity: 1 }]),
          releaseStock(o1),
          reserveStock(o3, [{ productId: a, quantity: 1 }]),
        ]);
        const finished = Date.now();
        expect(decide).toHaveBeenCalledTimes(3);
        expect(latency).toHaveBeenCalledTimes(1);
        const [s1, s2, s3] = [await h.staged(o1), await h.staged(o2), await h.staged(o3)];
        expect(s1.map((s) => s.eventType)).toEqual(['StockReservationConfirmed', 'StockReserved', 'StockReleaseConfirmed', 'StockReleased']);
        for (const s of s1.slice(0, 2)) expectDelay(s, started, finished, 1200);
        for (const s of s1.slice(2)) expectDelay(s, started, finished, 1600);
        expect(s2.map((s) => s.envelope.payload)).toEqual([expect.objectContaining({ reason: 'INVENTORY_UNAVAILABLE', transient: true })]);
        expectDelay(s2[0], started, finished, 400);
        for (const s of s3) expectDelay(s, started, finished, 800);
        expect(await h.stock(a)).toEqual({ onHand: 10, reserved: 1 });
        // Every log line carries the correlation id of its own order.
        expect(logged).toHaveLength(4);
        for (const [line, correlationId] of logged) expect(line).toContain(correlationId!.replace('corr-', ''));
      } finally {
        decide.mockRestore();
        latency.mockRestore();
        log.mockRestore();
      }
    });
  });
});
