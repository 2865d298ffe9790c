import { LIVE_SHIPMENT_STATUSES, PAYMENT_CHARGED, RESERVATION_ACTIVE, RESERVATION_COMMITTED, TERMINAL_STATUSES, UNDONE_STATUSES, type Violation } from './invariants.js';

/** I1, I2, I3 and I5 per order, on what the database holds: pure, no SQL. */

const LIVE: ReadonlySet<string> = new Set(LIVE_SHIPMENT_STATUSES);
const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_STATUSES);
const UNDONE: ReadonlySet<string> = new Set(UNDONE_STATUSES);

/** What the database holds for one order, read from the effect tables. */
export interface OrderFacts {
  shipments: string[];
  payments: Array<{ status: string; amount: number }>;
  lines: Array<{ productId: string; quantity: number; status: string }>;
  /** Units ordered per product (read for SHIPPED orders only). */
  items: Map<string, number>;
}

export const noFacts = (): OrderFacts => ({ shipments: [], payments: [], lines: [], items: new Map() });

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

/** One order as the checks see it: `status` is null when the order does not exist. */
interface Order {
  id: string;
  status: string | null;
  facts: OrderFacts;
}

/** The findings of every order, kept per invariant in the order the report lists them. */
class Findings {
  /** I1: ids per non-terminal status ('(missing)' for named orders that do not exist). */
  readonly unfinished = new Map<string, string[]>();
  readonly i2 = new PerOrder();
  readonly i3 = new PerOrder();
  readonly i5: Violation[] = [];

  violations(): Violation[] {
    const i1 = [...this.unfinished].map(([status, ids]) => ({
      invariant: 'I1' as const,
      orderIds: ids,
      detail: status === '(missing)' ? `${ids.length} order(s) not found` : `${ids.length} order(s) still ${status}`,
    }));
    return [...i1, ...this.i2.violations('I2'), ...this.i3.violations('I3'), ...this.i5];
  }
}

/** I1, I2, I3 and I5 on each of `orders` (id → status, or null when missing), in that order. */
export function checkOrders(orders: Iterable<[string, string | null]>, facts: Map<string, OrderFacts>, named: ReadonlySet<string>): Violation[] {
  const findings = new Findings();
  const empty = noFacts();
  for (const [id, status] of orders) {
    const order: Order = { id, status, facts: facts.get(id) ?? empty };
    checkTerminal(order, named, findings);
    if (status === 'SHIPPED') checkShipped(order, findings.i2);
    else checkNotShipped(order, findings);
    findings.i5.push(...uniqueKeyViolations(order));
  }
  return findings.violations();
}

/** I1: the order exists (when named) and is terminal. */
function checkTerminal({ id, status }: Order, named: ReadonlySet<string>, findings: Findings): void {
  if (status === null ? !named.has(id) : TERMINAL.has(status)) return;
  const key = status ?? '(missing)';
  const ids = findings.unfinished.get(key);
  if (ids) ids.push(id);
  else findings.unfinished.set(key, [id]);
}

/** I2: one live shipment, one charge not refunded, every line COMMITTED and matching the items. */
function checkShipped({ id, facts: f }: Order, i2: PerOrder): void {
  const live = f.shipments.filter((s) => LIVE.has(s));
  const charges = f.payments.filter((p) => p.status === PAYMENT_CHARGED);
  const committed = f.lines.filter((l) => l.status === RESERVATION_COMMITTED);
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
}

/**
 * I2 the other way: stock is committed for SHIPPED orders only. A live shipment of an order that is
 * failed, cancelled or missing is I3's; one of an order that never asked for shipping is I2's
 * (SHIPPING_REQUESTED is in flight: I1 reports it).
 */
function checkNotShipped({ id, status, facts: f }: Order, { i2, i3 }: Findings): void {
  const what = status === null ? 'no such order' : `order ${status}`;
  const live = f.shipments.filter((s) => LIVE.has(s));
  const committed = f.lines.filter((l) => l.status === RESERVATION_COMMITTED);
  if (committed.length) i2.add(id, `${what} with ${sum(committed)} unit(s) of stock COMMITTED`);
  const shipmentProblem = live.length && status !== 'SHIPPING_REQUESTED' ? `${what} with a shipment ${live.join(', ')}` : null;
  if (status !== null && !UNDONE.has(status)) {
    if (shipmentProblem) i2.add(id, shipmentProblem);
    return;
  }
  // I3: nothing held for a failed, cancelled or missing order.
  const active = f.lines.filter((l) => l.status === RESERVATION_ACTIVE);
  if (active.length) i3.add(id, `${what} with ${sum(active)} unit(s) still RESERVED`);
  for (const c of f.payments.filter((p) => p.status === PAYMENT_CHARGED)) i3.add(id, `${what} with an unrefunded charge of ${c.amount}`);
  if (shipmentProblem) i3.add(id, shipmentProblem);
}

/** I5 per order: the unique keys hold (checked on the data, so a dropped constraint shows). */
function uniqueKeyViolations({ id, facts: f }: Order): Violation[] {
  const out: Violation[] = [];
  if (f.payments.length > 1) out.push({ invariant: 'I5', orderIds: [id], detail: `${f.payments.length} payments for one order` });
  if (f.shipments.length > 1) out.push({ invariant: 'I5', orderIds: [id], detail: `${f.shipments.length} shipments for one order` });
  if (f.lines.length <= 1) return out;
  const perProduct = new Map<string, number>();
  for (const l of f.lines) perProduct.set(l.productId, (perProduct.get(l.productId) ?? 0) + 1);
  for (const [product, n] of perProduct) if (n > 1) out.push({ invariant: 'I5', orderIds: [id], productIds: [product], detail: `${n} reservation lines for one product` });
  return out;
}

const sum = (lines: Array<{ quantity: number }>) => lines.reduce((s, l) => s + l.quantity, 0);
function sumBy(lines: Array<{ productId: string; quantity: number }>): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of lines) out.set(l.productId, (out.get(l.productId) ?? 0) + l.quantity);
  return out;
}
