// Generated order requests for C11 (fast-check): valid bodies from a conservative subset of what the
// API accepts, and bodies made invalid by one mutation that surely breaks a rule of POST /api/orders
// (a missing or mistyped field, an unknown or prototype key at any depth, a value out of range, a
// body that is no object, an invalid Idempotency-Key). Each sample says which it is.
import fc from 'fast-check';

const COUNTRIES = ['GB', 'NL', 'DE', 'FR', 'US', 'ES', 'IT', 'SE', 'JP', 'BR'];
const CURRENCIES = ['EUR', 'USD', 'GBP'];
const KNOWN_PRODUCTS = [...Array.from({ length: 10 }, (_, i) => `SKU-${1001 + i}`), ...Array.from({ length: 10 }, (_, i) => `BENCH-${i + 1}`)];
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype'];

const word = (max) => fc.stringMatching(new RegExp(`^[A-Za-z][A-Za-z .'-]{0,${max}}$`));
const validBody = fc.record(
  {
    customer: fc.record(
      {
        id: fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,19}$/),
        name: word(40),
        email: fc.stringMatching(/^[a-z][a-z0-9]{0,15}$/).map((l) => `${l}@example.com`),
        phone: fc.stringMatching(/^\+?[0-9]{5,15}$/),
      },
      { requiredKeys: ['name', 'email'] },
    ),
    shippingAddress: fc.record(
      {
        line1: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 ,.-]{0,50}$/),
        line2: fc.stringMatching(/^[A-Za-z0-9 ,.-]{1,30}$/),
        city: word(30),
        postalCode: fc.stringMatching(/^[A-Z0-9][A-Z0-9 ]{0,9}$/),
        country: fc.constantFrom(...COUNTRIES),
      },
      { requiredKeys: ['line1', 'city', 'postalCode', 'country'] },
    ),
    items: fc.uniqueArray(
      fc.record({
        productId: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...KNOWN_PRODUCTS) }, fc.stringMatching(/^[A-Za-z0-9._-]{1,24}$/)),
        quantity: fc.integer({ min: 1, max: 5 }),
      }),
      { minLength: 1, maxLength: 5, selector: (i) => i.productId },
    ),
    currency: fc.constantFrom(...CURRENCIES),
  },
  { requiredKeys: ['customer', 'shippingAddress', 'items'] },
);

/** Paths to objects of the body where a key can be added or removed. */
const places = (b) => [[], ['customer'], ['shippingAddress'], ...b.items.map((_, i) => ['items', i])];
const at = (b, p) => p.reduce((o, k) => o[k], b);
const REQUIRED = {
  '': ['customer', 'shippingAddress', 'items'],
  customer: ['name', 'email'],
  shippingAddress: ['line1', 'city', 'postalCode', 'country'],
  items: ['productId', 'quantity'],
};
const KNOWN_KEYS = new Set([
  'customer',
  'shippingAddress',
  'items',
  'currency',
  'id',
  'name',
  'email',
  'phone',
  'line1',
  'line2',
  'city',
  'postalCode',
  'country',
  'productId',
  'quantity',
]);

/** A mutation: (body, rng values) → { body?: object, raw?: string, headers?: object, what }. */
const mutation = fc.oneof(
  // a required field missing
  fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => (body) => {
    const p = places(body)[a % places(body).length];
    const req = REQUIRED[p.length ? String(p[0]) : ''];
    const key = req[b % req.length];
    delete at(body, p)[key];
    return { body, what: `missing ${[...p, key].join('.')}` };
  }),
  // a field of the wrong type or out of range
  fc.tuple(fc.nat(), fc.constantFrom(null, 42, true, [], {}, 'x', 1.5, 0, 1001, -1, '', ' '.repeat(3))).map(([a, v]) => (body) => {
    const targets = [
      ['customer', 'name', [null, 42, true, [], {}, '']],
      ['customer', 'email', [null, 42, true, [], {}, 'x', '', '   ']],
      ['shippingAddress', 'country', [null, 42, [], {}, 'x', '']],
      ['shippingAddress', 'postalCode', [null, 42, true, [], {}, '']],
      ['items', 0, 'quantity', [null, true, [], {}, 'x', 1.5, 0, 1001, -1, '']],
      ['items', 0, 'productId', [null, 42, true, [], {}, '', '   ']],
      ['items', [null, 42, true, {}, 'x', []]],
      ['customer', [null, 42, true, [], 'x']],
    ];
    const t = targets[a % targets.length];
    const allowed = t.at(-1);
    const value = allowed.some((x) => JSON.stringify(x) === JSON.stringify(v)) ? v : allowed[a % allowed.length];
    const path = t.slice(0, -1);
    const parent = at(body, path.slice(0, -1));
    parent[path.at(-1)] = value;
    return { body, what: `${path.join('.')} = ${JSON.stringify(value)}` };
  }),
  // invalid values of the right type
  fc.nat().map((a) => (body) => {
    const cases = [
      () => ((body.shippingAddress.country = 'ZZ'), 'country ZZ'),
      () => ((body.shippingAddress.country = 'GBR'), 'country GBR'),
      () => ((body.customer.email = 'no-at-sign.example.com'), 'email without @'),
      () => ((body.customer.name = 'N'.repeat(201)), 'name of 201 characters'),
      () => ((body.shippingAddress.postalCode = '1'.repeat(21)), 'postal code of 21 characters'),
      () => ((body.customer.phone = 'call me maybe'), 'phone with letters'),
      () => ((body.items[0].productId = 'SKU 1001'), 'productId with a space'),
      () => ((body.items[0].productId = 'P'.repeat(65)), 'productId of 65 characters'),
      () => ((body.items = [body.items[0], { ...body.items[0] }]), 'the same productId twice'),
      () => ((body.items = []), 'no items'),
      () => ((body.items = Array.from({ length: 101 }, (_, i) => ({ productId: `P-${i}`, quantity: 1 }))), '101 items'),
      () => ((body.currency = 'EURO'), 'currency EURO'),
      () => ((body.currency = 'eu'), 'currency eu'),
    ];
    return { body, what: cases[a % cases.length]() };
  }),
  // an unknown key, at any depth
  fc.tuple(fc.nat(), fc.stringMatching(/^[a-z][a-zA-Z]{0,10}$/)).map(([a, key]) => (body) => {
    const p = places(body)[a % places(body).length];
    const k = KNOWN_KEYS.has(key) ? `${key}X` : key;
    at(body, p)[k] = 'extra';
    return { body, what: `unknown key ${[...p, k].join('.')}` };
  }),
  // a prototype key (__proto__, constructor, prototype), at any depth, as an own property
  fc.tuple(fc.nat(), fc.constantFrom(...PROTO_KEYS), fc.constantFrom({ isAdmin: true }, { status: 'SHIPPED' }, 'x', [])).map(([a, key, value]) => (body) => {
    const p = places(body)[a % places(body).length];
    Object.defineProperty(at(body, p), key, { value, enumerable: true, configurable: true, writable: true });
    return { body, what: `${key} key at ${p.length ? p.join('.') : 'the top'}` };
  }),
  // not an order object at all
  fc.constantFrom('[]', '"order"', '42', 'null', '{}', '{"customer":', 'not json').map((raw) => () => ({ raw, what: `body ${raw}` })),
  // an invalid Idempotency-Key on a valid body
  fc
    .constantFrom('k'.repeat(201), 'has space', 'tab\there')
    .map((key) => (body) => ({ body, headers: { 'idempotency-key': key }, what: `Idempotency-Key ${JSON.stringify(key.slice(0, 12))}` })),
);

/** `n` samples { body: string, headers, valid, what }, reproducible from `seed`; about a third valid. */
export function generateRequests(n, seed = 42) {
  const sample = fc.tuple(validBody, fc.integer({ min: 0, max: 2 }), mutation);
  return fc.sample(sample, { numRuns: n, seed }).map(([body, pick, mutate]) => {
    if (pick === 0) return { body: JSON.stringify(body), headers: {}, valid: true, what: 'valid' };
    const m = mutate(structuredClone(body));
    return { body: m.raw ?? JSON.stringify(m.body), headers: m.headers ?? {}, valid: false, what: m.what };
  });
}
