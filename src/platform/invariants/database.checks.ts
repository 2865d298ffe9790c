import {
  LIVE_SHIPMENT_STATUSES,
  PAYMENT_CHARGED,
  RESERVATION_ACTIVE,
  RESERVATION_COMMITTED,
  TERMINAL_STATUSES,
  UNDONE_STATUSES,
  type StockBaseline,
  type Violation,
} from './invariants.js';

/** Anything that runs SQL with `?` placeholders: a TypeORM DataSource or QueryRunner, for instance. */
export interface SqlRunner {
  query(sql: string, parameters?: unknown[]): Promise<any>;
}

export interface DatabaseScope {
  /** Only these orders (I1–I3, I5), and I4 only on their products. */
  orderIds?: string[];
  /** Only orders created at or after this time. */
  since?: Date;
}

export interface DatabaseCheckOptions extends DatabaseScope {
  /** Check I4 (per-product stock): always when nothing is scoped, else only when asked. */
  stock?: boolean;
  baseline?: StockBaseline;
}

/** Ids per `IN (…)` list: keeps statements small, each one a range of a unique index. */
const CHUNK = 1000;
/** Above this many orders in scope, the order tables are read whole (one sequential scan each) rather than by id. */
const READ_WHOLE_ABOVE = 20000;
/** Most order ids listed for one product's reservation mismatch. */
const MAX_IDS_PER_PRODUCT = 100;

const LIVE: ReadonlySet<string> = new Set(LIVE_SHIPMENT_STATUSES);
const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_STATUSES);
const UNDONE: ReadonlySet<string> = new Set(UNDONE_STATUSES);

const list = (values: readonly unknown[]) => values.map(() => '?').join(', ');
const chunks = <T>(values: T[]): T[][] => Array.from({ length: Math.ceil(values.length / CHUNK) }, (_, i) => values.slice(i * CHUNK, (i + 1) * CHUNK));

/** What the database holds for one order, read from the effect tables. */
interface OrderFacts {
  shipments: string[];
  payments: Array<{ status: string; amount: number }>;
  lines: Array<{ productId: string; quantity: number; status: string }>;
  /** Units ordered per product (read for SHIPPED orders only). */
  items: Map<string, number>;
}

/** Collects problems per order, so each order gets one violation per invariant listing all of them. */
class PerOrder {
  private readonly problems = new Map<string, string[]>();
  add(orderId: string, problem: string): void {
    const known = this.problems.get(orderId);
    if (known) known.push(problem);
    else this.problems.set(orderId, [problem]);
  }
  violations(invariant: Violation['invariant']): Violation[] {
    return [...this.problems].map(([orderId, problems]) => ({ invariant, orderIds: [orderId], detail: problems.join('; ') }));
  }
}

/**
 * I1–I5 against the database. The orders in scope and their rows in the effect tables are read with
 * narrow queries (by unique index for named orders, one sequential scan per table above 20,000
 * orders: cheaper than as many index lookups) and checked in memory. Run it inside one consistent
 * snapshot (the caller's transaction) so every read sees the same moment.
 */
export async function checkDatabase(sql: SqlRunner, options: DatabaseCheckOptions): Promise<{ violations: Violation[]; orders: number; stockChecked: boolean }> {
  const named = options.orderIds ? [...new Set(options.orderIds)] : null;
  const isNamed = new Set(named ?? []);
  const since = options.since ?? null;
  const scoped = named !== null || since !== null;

  // The orders in scope, id → status.
  const orders = new Map<string, string>();
  const sinceSql = since ? 'created_at >= ?' : 'TRUE';
  const sinceParams = since ? [since] : [];
  if (named) {
    for (const ids of chunks(named)) {
      const rows: Array<{ id: string; status: string }> = await sql.query(`SELECT id, status FROM orders WHERE id IN (${list(ids)}) AND ${sinceSql}`, [...ids, ...sinceParams]);
      for (const r of rows) orders.set(r.id, r.status);
    }
  } else {
    const rows: Array<{ id: string; status: string }> = await sql.query(`SELECT id, status FROM orders WHERE ${sinceSql}`, sinceParams);
    for (const r of rows) orders.set(r.id, r.status);
  }

  // Which rows of the effect tables belong to the scope. Named orders are read by id even when
  // missing (their rows then show as held for no order); read whole, a table's rows are kept for
  // orders in scope, and, unscoped, for orders that do not exist.
  const byId = named ?? (since && orders.size <= READ_WHOLE_ABOVE ? [...orders.keys()] : null);
  const keep = (orderId: string) => named !== null || orders.has(orderId) || !scoped;
  const facts = new Map<string, OrderFacts>();
  const factsOf = (orderId: string): OrderFacts => {
    let f = facts.get(orderId);
    if (!f) facts.set(orderId, (f = { shipments: [], payments: [], lines: [], items: new Map() }));
    return f;
  };
  const read = async <T extends { order_id: string }>(columns: string, table: string, each: (row: T) => void) => {
    const batches = byId ? chunks(byId).map((ids) => ({ where: `order_id IN (${list(ids)})`, params: ids })) : [{ where: 'TRUE', params: [] as string[] }];
    for (const b of batches) for (const row of (await sql.query(`SELECT ${columns} FROM ${table} WHERE ${b.where}`, b.params)) as T[]) if (keep(row.order_id)) each(row);
  };
  await read<{ order_id: string; status: string }>('order_id, status', 'shipments', (r) => factsOf(r.order_id).shipments.push(r.status));
  await read<{ order_id: string; status: string; amount: number }>('order_id, status, amount', 'payments', (r) =>
    factsOf(r.order_id).payments.push({ status: r.status, amount: Number(r.amount) }),
  );
  await read<{ order_id: string; product_id: string; quantity: number; status: string }>('order_id, product_id, quantity, status', 'stock_reservations', (r) =>
    factsOf(r.order_id).lines.push({ productId: r.product_id, quantity: Number(r.quantity), status: r.status }),
  );
  // Units of SHIPPED orders per product: their items against their COMMITTED lines (I2), and for I4.
  const shippedUnits = new Map<string, number>();
  await read<{ order_id: string; product_id: string; quantity: number }>('order_id, product_id, quantity', 'order_items', (r) => {
    if (orders.get(r.order_id) !== 'SHIPPED') return;
    const items = factsOf(r.order_id).items;
    items.set(r.product_id, (items.get(r.product_id) ?? 0) + Number(r.quantity));
    shippedUnits.set(r.product_id, (shippedUnits.get(r.product_id) ?? 0) + Number(r.quantity));
  });

  const i1 = new Map<string, string[]>();
  const i2 = new PerOrder();
  const i3 = new PerOrder();
  const i5: Violation[] = [];
  const empty: OrderFacts = { shipments: [], payments: [], lines: [], items: new Map() };
  const everyId = new Set(orders.keys());
  for (const id of facts.keys()) everyId.add(id);
  for (const id of isNamed) everyId.add(id);
  for (const id of everyId) {
    const status = orders.get(id) ?? null;
    const f = facts.get(id) ?? empty;
    const what = status === null ? 'no such order' : `order ${status}`;
    if (status === null ? isNamed.has(id) : !TERMINAL.has(status)) {
      const key = status ?? '(missing)';
      const ids = i1.get(key);
      if (ids) ids.push(id);
      else i1.set(key, [id]);
    }

    const live = f.shipments.filter((s) => LIVE.has(s));
    const charges = f.payments.filter((p) => p.status === PAYMENT_CHARGED);
    const committed = f.lines.filter((l) => l.status === RESERVATION_COMMITTED);
    const active = f.lines.filter((l) => l.status === RESERVATION_ACTIVE);
    if (status === 'SHIPPED') {
      // I2: one live shipment, one charge not refunded, every line COMMITTED and matching the items.
      if (live.length !== 1) i2.add(id, `SHIPPED with ${live.length} live shipment(s)`);
      if (charges.length !== 1) i2.add(id, `SHIPPED with ${charges.length} unrefunded charge(s)`);
      const open = f.lines.length - committed.length;
      if (open) i2.add(id, `SHIPPED with ${open} reservation line(s) not COMMITTED`);
      const committedBy = sumBy(committed);
      for (const product of new Set([...f.items.keys(), ...committedBy.keys()])) {
        const ordered = f.items.get(product) ?? 0;
        const took = committedBy.get(product) ?? 0;
        if (ordered !== took) i2.add(id, `${product}: ordered ${ordered}, committed ${took}`);
      }
    } else {
      // I2 the other way: stock is committed for SHIPPED orders only. A live shipment of an order
      // that is failed, cancelled or missing is I3's; one of an order that never asked for shipping
      // is I2's (SHIPPING_REQUESTED is in flight: I1 reports it).
      if (committed.length) i2.add(id, `${what} with ${sum(committed)} unit(s) of stock COMMITTED`);
      const shipmentProblem = live.length && status !== 'SHIPPING_REQUESTED' ? `${what} with a shipment ${live.join(', ')}` : null;
      if (status === null || UNDONE.has(status)) {
        // I3: nothing held for a failed, cancelled or missing order.
        if (active.length) i3.add(id, `${what} with ${sum(active)} unit(s) still RESERVED`);
        for (const c of charges) i3.add(id, `${what} with an unrefunded charge of ${c.amount}`);
        if (shipmentProblem) i3.add(id, shipmentProblem);
      } else if (shipmentProblem) i2.add(id, shipmentProblem);
    }

    // I5 per order: the unique keys hold (checked on the data, so a dropped constraint shows).
    if (f.payments.length > 1) i5.push({ invariant: 'I5', orderIds: [id], detail: `${f.payments.length} payments for one order` });
    if (f.shipments.length > 1) i5.push({ invariant: 'I5', orderIds: [id], detail: `${f.shipments.length} shipments for one order` });
    if (f.lines.length > 1) {
      const perProduct = new Map<string, number>();
      for (const l of f.lines) perProduct.set(l.productId, (perProduct.get(l.productId) ?? 0) + 1);
      for (const [product, n] of perProduct) if (n > 1) i5.push({ invariant: 'I5', orderIds: [id], productIds: [product], detail: `${n} reservation lines for one product` });
    }
  }

  // I5: the inbox has no order id; it is checked whole whatever the scope. Its unique key makes a
  // duplicate impossible, so the rows (the largest table by far) are scanned only without it.
  if (!(await hasUniqueKeyWithin(sql, 'processed_messages', ['consumer_group', 'event_id']))) {
    const inbox: Array<{ consumer_group: string; event_id: string; n: number }> = await sql.query(
      'SELECT consumer_group, event_id, COUNT(*) AS n FROM processed_messages GROUP BY consumer_group, event_id HAVING COUNT(*) > 1',
    );
    for (const row of inbox) i5.push({ invariant: 'I5', orderIds: [], detail: `inbox: event ${row.event_id} recorded ${Number(row.n)} times by ${row.consumer_group}` });
  }

  const violations: Violation[] = [
    ...[...i1].map(([status, ids]) => ({
      invariant: 'I1' as const,
      orderIds: ids,
      detail: status === '(missing)' ? `${ids.length} order(s) not found` : `${ids.length} order(s) still ${status}`,
    })),
    ...i2.violations('I2'),
    ...i3.violations('I3'),
    ...i5,
  ];
  const stockChecked = !scoped || options.stock === true || options.baseline !== undefined;
  if (stockChecked) {
    // Unscoped, every SHIPPED order's items were just read; scoped, the products' totals come from SQL.
    const products = scoped ? await productsOf(sql, byId, orders) : null;
    const ledger = await readProductLedger(sql, products, scoped ? undefined : shippedUnits);
    violations.push(...(await checkStock(sql, ledger, options.baseline)));
  }
  return { violations, orders: orders.size, stockChecked };
}

/** Whether a unique index of `table` covers only (some of) `columns`, whole: then no two rows share them. */
async function hasUniqueKeyWithin(sql: SqlRunner, table: string, columns: string[]): Promise<boolean> {
  const rows: Array<{ index_name: string; column_name: string; sub_part: number | null }> = await sql.query(
    `SELECT INDEX_NAME AS index_name, COLUMN_NAME AS column_name, SUB_PART AS sub_part FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND NON_UNIQUE = 0`,
    [table],
  );
  const indexes = new Map<string, boolean>();
  for (const r of rows) indexes.set(r.index_name, (indexes.get(r.index_name) ?? true) && columns.includes(r.column_name) && r.sub_part === null);
  return [...indexes.values()].some(Boolean);
}

const sum = (lines: Array<{ quantity: number }>) => lines.reduce((s, l) => s + l.quantity, 0);
function sumBy(lines: Array<{ productId: string; quantity: number }>): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of lines) out.set(l.productId, (out.get(l.productId) ?? 0) + l.quantity);
  return out;
}

/** The products the scoped orders asked for (I4 is then checked on those alone). */
async function productsOf(sql: SqlRunner, byId: string[] | null, orders: Map<string, string>): Promise<string[]> {
  const ids = byId ?? [...orders.keys()];
  const products = new Set<string>();
  for (const c of chunks(ids)) {
    const rows: Array<{ product_id: string }> = await sql.query(`SELECT DISTINCT product_id FROM order_items WHERE order_id IN (${list(c)})`, c);
    for (const r of rows) products.add(r.product_id);
  }
  return [...products];
}

export interface ProductLedger {
  productId: string;
  stockOnHand: number;
  stockReserved: number;
  /** Units in RESERVED lines. */
  active: number;
  /** Units in COMMITTED lines. */
  committed: number;
  /** Units of SHIPPED orders' items. */
  shipped: number;
}

/**
 * Per product (all when `productIds` is null): its stock columns and the totals of its reservation
 * lines and shipped items. `shipped` may be given when the caller has already summed every
 * SHIPPED order's items.
 */
export async function readProductLedger(sql: SqlRunner, productIds: string[] | null, shipped?: Map<string, number>): Promise<ProductLedger[]> {
  if (productIds && !productIds.length) return [];
  const ledger = new Map<string, ProductLedger>();
  for (const ids of productIds ? chunks(productIds) : [null]) {
    const only = (column: string) => (ids ? `${column} IN (${list(ids)})` : 'TRUE');
    const p = ids ?? [];
    const products: Array<{ product_id: string; stock_on_hand: number; stock_reserved: number }> = await sql.query(
      `SELECT product_id, stock_on_hand, stock_reserved FROM products WHERE ${only('product_id')}`,
      p,
    );
    for (const r of products) {
      ledger.set(r.product_id, {
        productId: r.product_id,
        stockOnHand: Number(r.stock_on_hand),
        stockReserved: Number(r.stock_reserved),
        active: 0,
        committed: 0,
        shipped: shipped?.get(r.product_id) ?? 0,
      });
    }
    // One scan of the reservation lines (they have no product index), grouped into a few rows.
    const lines: Array<{ product_id: string; status: string; q: number }> = await sql.query(
      `SELECT product_id, status, SUM(quantity) AS q FROM stock_reservations WHERE status IN (?, ?) AND ${only('product_id')} GROUP BY product_id, status`,
      [RESERVATION_ACTIVE, RESERVATION_COMMITTED, ...p],
    );
    for (const r of lines) {
      const entry = ledger.get(r.product_id);
      if (entry && r.status === RESERVATION_ACTIVE) entry.active = Number(r.q);
      if (entry && r.status === RESERVATION_COMMITTED) entry.committed = Number(r.q);
    }
    if (!shipped) {
      const units: Array<{ product_id: string; q: number }> = await sql.query(
        `SELECT i.product_id, SUM(i.quantity) AS q FROM order_items i JOIN orders o ON o.id = i.order_id
          WHERE o.status = 'SHIPPED' AND ${only('i.product_id')} GROUP BY i.product_id`,
        p,
      );
      for (const r of units) {
        const entry = ledger.get(r.product_id);
        if (entry) entry.shipped = Number(r.q);
      }
    }
  }
  return [...ledger.values()];
}

/** The baseline a later check compares against (`--write-baseline`). */
export async function takeStockBaseline(sql: SqlRunner, at: Date = new Date()): Promise<StockBaseline> {
  const ledger = await readProductLedger(sql, null);
  return {
    takenAt: at.toISOString(),
    products: Object.fromEntries(ledger.map((p) => [p.productId, { stockOnHand: p.stockOnHand, committed: p.committed, shipped: p.shipped }])),
  };
}

/** I4 on each product of the ledger. */
async function checkStock(sql: SqlRunner, ledger: ProductLedger[], baseline: StockBaseline | undefined): Promise<Violation[]> {
  const out: Violation[] = [];
  for (const p of ledger) {
    const problems: string[] = [];
    let holders: string[] = [];
    if (p.stockOnHand < 0 || p.stockReserved < 0) problems.push(`negative stock (on hand ${p.stockOnHand}, reserved ${p.stockReserved})`);
    if (p.stockReserved > p.stockOnHand) problems.push(`reserved ${p.stockReserved} above on hand ${p.stockOnHand}`);
    if (p.stockReserved !== p.active) {
      problems.push(`stock_reserved ${p.stockReserved} but RESERVED lines hold ${p.active}`);
      const rows: Array<{ order_id: string }> = await sql.query(
        `SELECT order_id FROM stock_reservations WHERE status = ? AND product_id = ? ORDER BY order_id LIMIT ${MAX_IDS_PER_PRODUCT}`,
        [RESERVATION_ACTIVE, p.productId],
      );
      holders = rows.map((r) => r.order_id);
    }
    const base = baseline?.products[p.productId];
    if (base) {
      const drop = base.stockOnHand - p.stockOnHand;
      const shipped = p.shipped - (base.shipped ?? 0);
      const committed = p.committed - (base.committed ?? 0);
      if (drop !== shipped || drop !== committed) {
        problems.push(`on hand dropped by ${drop} since the baseline, but SHIPPED orders took ${shipped} and COMMITTED lines grew by ${committed}`);
      }
    } else if (p.committed !== p.shipped) {
      problems.push(`COMMITTED lines hold ${p.committed} but SHIPPED orders' items total ${p.shipped}`);
    }
    if (problems.length) out.push({ invariant: 'I4', orderIds: holders, productIds: [p.productId], detail: `${p.productId}: ${problems.join('; ')}` });
  }
  return out;
}
