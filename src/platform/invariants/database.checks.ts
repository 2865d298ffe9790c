import type { StockBaseline, Violation } from './invariants.js';
import { hasUniqueKeyWithin, readDuplicateInboxRows, readOrderRows, readOrderStatuses, readProductsOfOrders, type SqlRunner } from './invariants.repository.js';
import { checkOrders, noFacts, type OrderFacts } from './order.checks.js';
import { checkStock, readProductLedger } from './stock.check.js';

export type { SqlRunner } from './invariants.repository.js';
export { readProductLedger, takeStockBaseline, type ProductLedger } from './stock.check.js';

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

/** Above this many orders in scope, the order tables are read whole (one sequential scan each) rather than by id. */
const READ_WHOLE_ABOVE = 20000;

/** The orders in scope and how their rows in the effect tables are read. */
interface Scope {
  /** The orders named, deduplicated (null when not named). */
  named: string[] | null;
  scoped: boolean;
  /** Orders in scope: id → status. */
  orders: Map<string, string>;
  /** The ids the effect tables are read by, or null to read them whole. */
  byId: string[] | null;
}

/**
 * I1–I5 against the database. The orders in scope and their rows in the effect tables are read with
 * narrow queries (by unique index for named orders, one sequential scan per table above 20,000
 * orders: cheaper than as many index lookups) and checked in memory. Run it inside one consistent
 * snapshot (the caller's transaction) so every read sees the same moment.
 */
export async function checkDatabase(sql: SqlRunner, options: DatabaseCheckOptions): Promise<{ violations: Violation[]; orders: number; stockChecked: boolean }> {
  const scope = await readScope(sql, options);
  const { facts, shippedUnits } = await readOrderFacts(sql, scope);
  const violations = [...checkOrders(ordersToCheck(scope, facts), facts, new Set(scope.named ?? [])), ...(await checkInbox(sql))];
  const stockChecked = !scope.scoped || options.stock === true || options.baseline !== undefined;
  if (stockChecked) {
    // Unscoped, every SHIPPED order's items were just read; scoped, the products' totals come from SQL.
    const products = scope.scoped ? await readProductsOfOrders(sql, scope.byId ?? [...scope.orders.keys()]) : null;
    const ledger = await readProductLedger(sql, products, scope.scoped ? undefined : shippedUnits);
    violations.push(...(await checkStock(sql, ledger, options.baseline)));
  }
  return { violations, orders: scope.orders.size, stockChecked };
}

async function readScope(sql: SqlRunner, options: DatabaseScope): Promise<Scope> {
  const named = options.orderIds ? [...new Set(options.orderIds)] : null;
  const since = options.since ?? null;
  const orders = await readOrderStatuses(sql, named, since);
  // Named orders are read by id even when missing (their rows then show as held for no order).
  const byId = named ?? (since && orders.size <= READ_WHOLE_ABOVE ? [...orders.keys()] : null);
  return { named, scoped: named !== null || since !== null, orders, byId };
}

/**
 * The effect tables' rows of the orders in scope. Read whole, a table's rows are kept for orders in
 * scope, and, unscoped, for orders that do not exist. Also sums the units of SHIPPED orders per
 * product: their items are checked against their COMMITTED lines (I2), and the totals serve I4.
 */
async function readOrderFacts(sql: SqlRunner, scope: Scope): Promise<{ facts: Map<string, OrderFacts>; shippedUnits: Map<string, number> }> {
  const { orders, byId } = scope;
  const keep = (row: { order_id: string }) => scope.named !== null || orders.has(row.order_id) || !scope.scoped;
  const read = async <T extends { order_id: string }>(columns: string, table: string) => (await readOrderRows<T>(sql, columns, table, byId)).filter(keep);
  const facts = new Map<string, OrderFacts>();
  const factsOf = (orderId: string): OrderFacts => {
    let f = facts.get(orderId);
    if (!f) facts.set(orderId, (f = noFacts()));
    return f;
  };

  for (const r of await read<{ order_id: string; status: string }>('order_id, status', 'shipments')) factsOf(r.order_id).shipments.push(r.status);
  for (const r of await read<{ order_id: string; status: string; amount: number }>('order_id, status, amount', 'payments')) {
    factsOf(r.order_id).payments.push({ status: r.status, amount: Number(r.amount) });
  }
  for (const r of await read<{ order_id: string; product_id: string; quantity: number; status: string }>('order_id, product_id, quantity, status', 'stock_reservations')) {
    factsOf(r.order_id).lines.push({ productId: r.product_id, quantity: Number(r.quantity), status: r.status });
  }
  const shippedUnits = new Map<string, number>();
  for (const r of await read<{ order_id: string; product_id: string; quantity: number }>('order_id, product_id, quantity', 'order_items')) {
    if (orders.get(r.order_id) !== 'SHIPPED') continue;
    const items = factsOf(r.order_id).items;
    items.set(r.product_id, (items.get(r.product_id) ?? 0) + Number(r.quantity));
    shippedUnits.set(r.product_id, (shippedUnits.get(r.product_id) ?? 0) + Number(r.quantity));
  }
  return { facts, shippedUnits };
}

/** Every order to check, with its status (null when missing): those in scope, those holding rows, those named. */
function ordersToCheck({ orders, named }: Scope, facts: Map<string, OrderFacts>): Array<[string, string | null]> {
  const ids = new Set(orders.keys());
  for (const id of facts.keys()) ids.add(id);
  for (const id of named ?? []) ids.add(id);
  return [...ids].map((id) => [id, orders.get(id) ?? null]);
}

/**
 * I5 on the inbox: it has no order id, so it is checked whole whatever the scope. Its unique key
 * makes a duplicate impossible, so the rows (the largest table by far) are scanned only without it.
 */
async function checkInbox(sql: SqlRunner): Promise<Violation[]> {
  if (await hasUniqueKeyWithin(sql, 'processed_messages', ['consumer_group', 'event_id'])) return [];
  const rows = await readDuplicateInboxRows(sql);
  return rows.map((row) => ({ invariant: 'I5' as const, orderIds: [], detail: `inbox: event ${row.event_id} recorded ${Number(row.n)} times by ${row.consumer_group}` }));
}
