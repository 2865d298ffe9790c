import { randomUUID } from 'node:crypto';
import { newEnvelope } from '../../../src/contracts/envelope.js';
import { OrderSagaModule } from '../../../src/process/orders/order-saga.module.js';
import { OrderSagaService, type SagaMessage } from '../../../src/process/orders/order-saga.service.js';
import { checkSuiteInvariants } from '../../support/invariants.js';
import { writeReceivedOrder } from '../../support/received-order.js';
import { startSystemHarness, type SystemHarness } from '../system/system-harness.js';

/**
 * The saga's writes for a batch of messages, against the real MariaDB: each order ends as its
 * messages, applied one after the other, leave it, though orders with the same kind of change share
 * their statements (the bench guards the cost of that).
 */
describe('order saga: a batch of messages written per kind of change (real MariaDB)', () => {
  let h: SystemHarness;
  let saga: OrderSagaService;
  let productA: string;
  let productB: string;
  /** Every order this suite writes, for the invariant check at its end. */
  const written: string[] = [];

  beforeAll(async () => {
    h = await startSystemHarness(OrderSagaModule);
    saga = h.moduleRef.get(OrderSagaService);
    productA = await h.product(100, 2.5);
    productB = await h.product(100, 4);
  });
  afterAll(() => h?.close());

  /** An order as the intake leaves it: RECEIVED, two lines without prices, written in `inTx`. */
  async function received(inTx: SystemHarness['inTx'] = h.inTx, id: string = randomUUID()): Promise<string> {
    const customer = { externalId: `c-${id.slice(0, 8)}`, name: 'Ada', email: 'ada@example.com' };
    const items = [
      { productId: productA, quantity: 2 },
      { productId: productB, quantity: 1 },
    ];
    const address = { line1: '1 Main St', city: 'Paris', postalCode: '75001', country: 'FR' };
    written.push(id);
    await inTx((tx) =>
      writeReceivedOrder(h.moduleRef, (batch) => batch.run(tx), { id, customer, shippingAddress: address, items, currency: 'EUR', correlationId: `corr-${id}`, at: new Date() }),
    );
    return id;
  }

  const created = (orderId: string) =>
    newEnvelope(
      'OrderCreated',
      orderId,
      {
        customer: { id: 'c', name: 'Ada', email: 'ada@example.com' },
        shippingAddress: { line1: '1 Main St', city: 'Paris', postalCode: '75001', country: 'FR' },
        items: [],
        currency: 'EUR',
      },
      { correlationId: `corr-${orderId}` },
    ) as SagaMessage;
  /** The reservation reply, with prices that differ per order (so each order must get its own). */
  const reserved = (orderId: string, priceA: number) =>
    newEnvelope(
      'StockReservationConfirmed',
      orderId,
      {
        items: [
          { productId: productA, quantity: 2, unitPrice: priceA },
          { productId: productB, quantity: 1, unitPrice: 4 },
        ],
        total: 2 * priceA + 4,
        currency: 'EUR',
      },
      { correlationId: `corr-${orderId}` },
    ) as SagaMessage;
  const charged = (orderId: string) =>
    newEnvelope('PaymentCharged', orderId, { paymentId: `pay-${orderId}`, amount: 9, currency: 'EUR' }, { correlationId: `corr-${orderId}` }) as SagaMessage;

  /** Runs a batch in one transaction as the consumers do. */
  const handle = (messages: SagaMessage[]) => h.inTx((tx) => saga.handleMany(messages, tx));

  const order = async (id: string) =>
    (await h.dataSource.query('SELECT status, status_reason, version, total, currency, payment_id FROM orders WHERE id = ?', [id]))[0] as {
      status: string;
      status_reason: string | null;
      version: number;
      total: number | null;
      currency: string;
      payment_id: string | null;
    };
  const steps = (id: string) => h.dataSource.query('SELECT step, state, attempt, correlation_id FROM saga_steps WHERE order_id = ? ORDER BY step', [id]);
  const prices = async (id: string) =>
    (
      (await h.dataSource.query('SELECT product_id, unit_price FROM order_items WHERE order_id = ? ORDER BY line_no', [id])) as Array<{
        product_id: string;
        unit_price: number | null;
      }>
    ).map((r) => [r.product_id, r.unit_price === null ? null : Number(r.unit_price)]);
  const history = async (id: string) =>
    ((await h.dataSource.query('SELECT to_status FROM order_status_history WHERE order_id = ? ORDER BY id', [id])) as Array<{ to_status: string }>).map((r) => r.to_status);
  const staged = async (id: string) => (await h.staged(id)).map((m) => m.eventType);

  it('moves every order of a batch, each with its own values', async () => {
    const one = await received();
    const many = [await received(), await received(), await received()];

    await handle([created(one)]);
    await handle(many.map(created));

    await handle([reserved(one, 2.5)]);
    await handle(many.map((id, i) => reserved(id, 3 + i)));

    for (const [i, id] of many.entries()) {
      expect(await order(id)).toMatchObject({ status: 'INVENTORY_CONFIRMED', status_reason: null, version: 3, total: 2 * (3 + i) + 4, currency: 'EUR' });
      expect(await prices(id)).toEqual([
        [productA, 3 + i],
        [productB, 4],
      ]);
      expect(await history(id)).toEqual(['RECEIVED', 'INVENTORY_CHECK_STARTED', 'INVENTORY_CONFIRMED']);
      // The inventory step ended, the payment step waits for its reply.
      expect(await steps(id)).toEqual([{ step: 'payment', state: 'WAITING', attempt: 1, correlation_id: `corr-${id}` }]);
      expect(await staged(id)).toEqual(['OrderStatusChanged', 'ReserveStock', 'OrderStatusChanged', 'ChargePayment']);
    }
    expect(await order(one)).toMatchObject({ status: 'INVENTORY_CONFIRMED', version: 3, total: 9 });
  });

  it('several messages of one order in a batch: one net change, every transition in its history', async () => {
    const id = await received();
    const other = await received();
    await handle([created(id), created(other), reserved(id, 2.5), charged(id), reserved(other, 5)]);

    expect(await order(id)).toMatchObject({ status: 'PAYMENT_COMPLETED', version: 4, total: 9, payment_id: `pay-${id}` });
    expect(await history(id)).toEqual(['RECEIVED', 'INVENTORY_CHECK_STARTED', 'INVENTORY_CONFIRMED', 'PAYMENT_COMPLETED']);
    // The inventory and payment steps started and ended inside the batch: no row is left.
    expect(await steps(id)).toEqual([]);
    expect(await staged(id)).toEqual(['OrderStatusChanged', 'ReserveStock', 'OrderStatusChanged', 'ChargePayment', 'OrderStatusChanged', 'OrderValidated']);

    expect(await order(other)).toMatchObject({ status: 'INVENTORY_CONFIRMED', version: 3, total: 14, payment_id: null });
    expect(await steps(other)).toEqual([{ step: 'payment', state: 'WAITING', attempt: 1, correlation_id: `corr-${other}` }]);
  });

  /** The UUID-shaped id that sorts immediately before `id`. */
  const idJustBefore = (id: string) => {
    const hex = (BigInt(`0x${id.replace(/-/g, '')}`) - 1n).toString(16).padStart(32, '0');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };

  it("locks only the batch's own rows: new orders and other orders' steps go on while its transaction is open", async () => {
    const ids = [await received(), await received(), await received()];
    const other = await received();
    await handle([...ids, other].map(created));
    await h.inTx(async (tx) => {
      await saga.handleMany(
        ids.map((id) => reserved(id, 2.5)),
        tx,
      );
      // While the batch holds its locks: the intake takes a new order, and another consumer moves another order.
      // The new order's id sorts right before a batch order's, so its lines go into the index gap before
      // that order's lines: a next-key lock there (not only on the rows) would hold it up.
      await received((work) => h.elsewhere(work), idJustBefore(ids[0]));
      await h.elsewhere((elsewhere) => saga.handleMany([reserved(other, 2.5)], elsewhere));
    });
    for (const id of [...ids, other]) expect(await order(id)).toMatchObject({ status: 'INVENTORY_CONFIRMED', version: 3 });
  });

  it('a duplicate in the same batch changes nothing more', async () => {
    const id = await received();
    await handle([created(id), created(id)]);
    expect(await order(id)).toMatchObject({ status: 'INVENTORY_CHECK_STARTED', version: 2 });
    expect(await history(id)).toEqual(['RECEIVED', 'INVENTORY_CHECK_STARTED']);
    expect(await staged(id)).toEqual(['OrderStatusChanged', 'ReserveStock']);
  });

  // Last. No system module runs here, so the orders stay where the batches left them (I1 does not
  // apply); everything else must hold: no stock, charge or shipment appears, stock stays consistent.
  it('leaves the invariants other than I1 intact for the orders it wrote', async () => {
    const report = await checkSuiteInvariants(h.dataSource, written, { waitS: 0 });
    expect(report.violations.filter((v) => v.invariant !== 'I1')).toEqual([]);
    expect(report.checked).toEqual(['I1', 'I2', 'I3', 'I4', 'I5']);
    expect(report.orders).toBe(written.length);
  });
});
