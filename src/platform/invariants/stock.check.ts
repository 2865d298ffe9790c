import { RESERVATION_ACTIVE, RESERVATION_COMMITTED, type StockBaseline, type Violation } from './invariants.js';
import { chunks, readActiveHolders, readProductStock, readReservedUnits, readShippedUnits, type SqlRunner } from './invariants.repository.js';

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
    for (const r of await readProductStock(sql, ids)) {
      const entry = { productId: r.product_id, stockOnHand: Number(r.stock_on_hand), stockReserved: Number(r.stock_reserved), active: 0, committed: 0 };
      ledger.set(r.product_id, { ...entry, shipped: shipped?.get(r.product_id) ?? 0 });
    }
    for (const r of await readReservedUnits(sql, ids)) {
      const entry = ledger.get(r.product_id);
      if (entry && r.status === RESERVATION_ACTIVE) entry.active = Number(r.q);
      if (entry && r.status === RESERVATION_COMMITTED) entry.committed = Number(r.q);
    }
    if (shipped) continue;
    for (const r of await readShippedUnits(sql, ids)) {
      const entry = ledger.get(r.product_id);
      if (entry) entry.shipped = Number(r.q);
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
export async function checkStock(sql: SqlRunner, ledger: ProductLedger[], baseline: StockBaseline | undefined): Promise<Violation[]> {
  const out: Violation[] = [];
  for (const p of ledger) {
    const problems = [...stockLevelProblems(p), ...stockMovementProblems(p, baseline?.products[p.productId])];
    // The orders holding the product's RESERVED lines help find where the counter went wrong.
    const holders = p.stockReserved !== p.active ? await readActiveHolders(sql, p.productId) : [];
    if (problems.length) out.push({ invariant: 'I4', orderIds: holders, productIds: [p.productId], detail: `${p.productId}: ${problems.join('; ')}` });
  }
  return out;
}

/** The stock columns: never negative, reserved within on hand and equal to the RESERVED lines. */
function stockLevelProblems(p: ProductLedger): string[] {
  const problems: string[] = [];
  if (p.stockOnHand < 0 || p.stockReserved < 0) problems.push(`negative stock (on hand ${p.stockOnHand}, reserved ${p.stockReserved})`);
  if (p.stockReserved > p.stockOnHand) problems.push(`reserved ${p.stockReserved} above on hand ${p.stockOnHand}`);
  if (p.stockReserved !== p.active) problems.push(`stock_reserved ${p.stockReserved} but RESERVED lines hold ${p.active}`);
  return problems;
}

/** On hand dropped by what shipped: since the baseline when there is one, else since the start. */
function stockMovementProblems(p: ProductLedger, base: StockBaseline['products'][string] | undefined): string[] {
  if (!base) return p.committed !== p.shipped ? [`COMMITTED lines hold ${p.committed} but SHIPPED orders' items total ${p.shipped}`] : [];
  const drop = base.stockOnHand - p.stockOnHand;
  const shipped = p.shipped - (base.shipped ?? 0);
  const committed = p.committed - (base.committed ?? 0);
  if (drop === shipped && drop === committed) return [];
  return [`on hand dropped by ${drop} since the baseline, but SHIPPED orders took ${shipped} and COMMITTED lines grew by ${committed}`];
}
