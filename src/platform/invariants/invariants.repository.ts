import { RESERVATION_ACTIVE, RESERVATION_COMMITTED } from './invariants.js';

/**
 * Every SQL statement the database checks run. They read only, inside the caller's snapshot, with
 * narrow statements: by unique index for named orders, or one sequential scan per table.
 */

/** Anything that runs SQL with `?` placeholders: a TypeORM DataSource or QueryRunner, for instance. */
export interface SqlRunner {
  query(sql: string, parameters?: unknown[]): Promise<any>;
}

/** Ids per `IN (…)` list: keeps statements small, each one a range of a unique index. */
const CHUNK = 1000;
/** Most order ids listed for one product's reservation mismatch. */
const MAX_IDS_PER_PRODUCT = 100;

const list = (values: readonly unknown[]) => values.map(() => '?').join(', ');
export const chunks = <T>(values: T[]): T[][] => Array.from({ length: Math.ceil(values.length / CHUNK) }, (_, i) => values.slice(i * CHUNK, (i + 1) * CHUNK));

/** Orders by id (all of them when `named` is null), created at or after `since` when given: id → status. */
export async function readOrderStatuses(sql: SqlRunner, named: string[] | null, since: Date | null): Promise<Map<string, string>> {
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
  return orders;
}

/** `columns` of an effect table's rows for these orders, or of the whole table when `orderIds` is null. */
export async function readOrderRows<T extends { order_id: string }>(sql: SqlRunner, columns: string, table: string, orderIds: string[] | null): Promise<T[]> {
  const batches = orderIds ? chunks(orderIds).map((ids) => ({ where: `order_id IN (${list(ids)})`, params: ids })) : [{ where: 'TRUE', params: [] as string[] }];
  let rows: T[] = [];
  for (const b of batches) rows = rows.concat((await sql.query(`SELECT ${columns} FROM ${table} WHERE ${b.where}`, b.params)) as T[]);
  return rows;
}

/** Whether a unique index of `table` covers only (some of) `columns`, whole: then no two rows share them. */
export async function hasUniqueKeyWithin(sql: SqlRunner, table: string, columns: string[]): Promise<boolean> {
  const rows: Array<{ index_name: string; column_name: string; sub_part: number | null }> = await sql.query(
    `SELECT INDEX_NAME AS index_name, COLUMN_NAME AS column_name, SUB_PART AS sub_part FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND NON_UNIQUE = 0`,
    [table],
  );
  const indexes = new Map<string, boolean>();
  for (const r of rows) indexes.set(r.index_name, (indexes.get(r.index_name) ?? true) && columns.includes(r.column_name) && r.sub_part === null);
  return [...indexes.values()].some(Boolean);
}

/** Inbox rows recorded more than once for one (group, event). */
export function readDuplicateInboxRows(sql: SqlRunner): Promise<Array<{ consumer_group: string; event_id: string; n: number }>> {
  return sql.query('SELECT consumer_group, event_id, COUNT(*) AS n FROM processed_messages GROUP BY consumer_group, event_id HAVING COUNT(*) > 1');
}

/** The products these orders asked for. */
export async function readProductsOfOrders(sql: SqlRunner, orderIds: string[]): Promise<string[]> {
  const products = new Set<string>();
  for (const c of chunks(orderIds)) {
    const rows: Array<{ product_id: string }> = await sql.query(`SELECT DISTINCT product_id FROM order_items WHERE order_id IN (${list(c)})`, c);
    for (const r of rows) products.add(r.product_id);
  }
  return [...products];
}

/** A `column IN (…)` filter on these ids, or none when `ids` is null. */
const only = (column: string, ids: string[] | null) => (ids ? `${column} IN (${list(ids)})` : 'TRUE');

export function readProductStock(sql: SqlRunner, ids: string[] | null): Promise<Array<{ product_id: string; stock_on_hand: number; stock_reserved: number }>> {
  return sql.query(`SELECT product_id, stock_on_hand, stock_reserved FROM products WHERE ${only('product_id', ids)}`, ids ?? []);
}

/** Units in RESERVED and COMMITTED lines per product: one scan of the lines (they have no product index), grouped into a few rows. */
export function readReservedUnits(sql: SqlRunner, ids: string[] | null): Promise<Array<{ product_id: string; status: string; q: number }>> {
  return sql.query(`SELECT product_id, status, SUM(quantity) AS q FROM stock_reservations WHERE status IN (?, ?) AND ${only('product_id', ids)} GROUP BY product_id, status`, [
    RESERVATION_ACTIVE,
    RESERVATION_COMMITTED,
    ...(ids ?? []),
  ]);
}

/** Units of SHIPPED orders' items per product. */
export function readShippedUnits(sql: SqlRunner, ids: string[] | null): Promise<Array<{ product_id: string; q: number }>> {
  return sql.query(
    `SELECT i.product_id, SUM(i.quantity) AS q FROM order_items i JOIN orders o ON o.id = i.order_id
          WHERE o.status = 'SHIPPED' AND ${only('i.product_id', ids)} GROUP BY i.product_id`,
    ids ?? [],
  );
}

/** The first orders (by id) holding RESERVED lines of a product. */
export async function readActiveHolders(sql: SqlRunner, productId: string): Promise<string[]> {
  const rows: Array<{ order_id: string }> = await sql.query(
    `SELECT order_id FROM stock_reservations WHERE status = ? AND product_id = ? ORDER BY order_id LIMIT ${MAX_IDS_PER_PRODUCT}`,
    [RESERVATION_ACTIVE, productId],
  );
  return rows.map((r) => r.order_id);
}
