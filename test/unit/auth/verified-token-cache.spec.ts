import { VerifiedTokenCache } from '../../../src/platform/auth/verified-token-cache.js';

describe('VerifiedTokenCache', () => {
  const ada = { sub: 'ada', clientId: 'ada', owner: 'ada', scopes: ['orders.read'] };
  const bob = { sub: 'bob', clientId: 'bob', owner: 'bob', scopes: ['orders.write'] };
  const t0 = 1_800_000_000_000;
  const exp = (msFromT0: number) => (t0 + msFromT0) / 1000;

  it('knows the caller of a remembered token, and only of that exact token', () => {
    const cache = new VerifiedTokenCache({ tokenCacheSize: 10, tokenCacheMaxAgeMs: 60_000 });
    cache.remember('h.p.sig', ada, exp(300_000), t0);
    expect(cache.get('h.p.sig', t0 + 1000)).toEqual(ada);
    expect(cache.get('h.p.sig2', t0 + 1000)).toBeUndefined();
    expect(cache.get('h.p.si', t0 + 1000)).toBeUndefined();
    expect(cache.get(null, t0)).toBeUndefined();
  });

  it("forgets a token at its exp, when that comes before the maximum age", () => {
    const cache = new VerifiedTokenCache({ tokenCacheSize: 10, tokenCacheMaxAgeMs: 60_000 });
    cache.remember('t', ada, exp(5_000), t0);
    expect(cache.get('t', t0 + 4_999)).toEqual(ada);
    expect(cache.get('t', t0 + 5_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('forgets a token after the maximum age, however long it is valid', () => {
    const cache = new VerifiedTokenCache({ tokenCacheSize: 10, tokenCacheMaxAgeMs: 60_000 });
    cache.remember('t', ada, exp(3_600_000), t0);
    expect(cache.get('t', t0 + 59_999)).toEqual(ada);
    expect(cache.get('t', t0 + 60_000)).toBeUndefined();
  });

  it('keeps no token that has already expired (accepted within the clock skew)', () => {
    const cache = new VerifiedTokenCache({ tokenCacheSize: 10, tokenCacheMaxAgeMs: 60_000 });
    cache.remember('t', ada, exp(-5_000), t0);
    expect(cache.size).toBe(0);
  });

  it('holds at most its size, dropping the least recently used first', () => {
    const cache = new VerifiedTokenCache({ tokenCacheSize: 2, tokenCacheMaxAgeMs: 60_000 });
    cache.remember('a', ada, exp(300_000), t0);
    cache.remember('b', bob, exp(300_000), t0);
    cache.remember('c', ada, exp(300_000), t0);
    expect(cache.size).toBe(2);
    expect(cache.get('a', t0)).toBeUndefined();
    expect(cache.get('b', t0)).toEqual(bob);
    expect(cache.get('c', t0)).toEqual(ada);
    // b was read after c: c goes first.
    expect(cache.get('b', t0)).toEqual(bob);
    cache.remember('d', bob, exp(300_000), t0);
    expect(cache.get('c', t0)).toBeUndefined();
    expect(cache.get('b', t0)).toEqual(bob);
  });

  it('keeps nothing at size 0', () => {
    const cache = new VerifiedTokenCache({ tokenCacheSize: 0, tokenCacheMaxAgeMs: 60_000 });
    cache.remember('t', ada, exp(300_000), t0);
    expect(cache.get('t', t0)).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});
