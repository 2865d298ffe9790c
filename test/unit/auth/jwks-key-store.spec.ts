import { jest } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { InvalidTokenError, KeySourceUnavailableError } from '../../../src/platform/auth/auth.errors.js';
import { JwksKeyStore } from '../../../src/platform/auth/jwks-key-store.js';

function rsaJwk(kid: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256', ...extra };
}

/** A strict fake issuer: counts fetches, answers what it is told. */
function fakeIssuer(answer: () => Response | Promise<Response>) {
  const calls: string[] = [];
  const fetchFn = async (url: string): Promise<Response> => {
    calls.push(url);
    return answer();
  };
  return { calls, fetchFn };
}

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
/** 2 a minute: one fetch per 30 s cooldown. */
const options = { cacheMaxAgeMs: 600_000, requestsPerMinute: 2, timeoutMs: 1000 };
const header = (kid: string) => ({ alg: 'RS256' as const, kid });

describe('JwksKeyStore (jose remote key set)', () => {
  let now = 1_800_000_000_000;
  beforeEach(() => {
    // jose reads Date.now for its cache and cooldown; the store for its fetch-failure backoff.
    jest.spyOn(Date, 'now').mockImplementation(() => now);
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('fetches once and serves known kids from the cache', async () => {
    const issuer = fakeIssuer(() => json({ keys: [rsaJwk('k1'), rsaJwk('k2')] }));
    const store = new JwksKeyStore('https://issuer/v1/keys', options, issuer.fetchFn);
    expect(await store.keyFor(header('k1'))).toMatchObject({ type: 'public' });
    expect(await store.keyFor(header('k2'))).toMatchObject({ type: 'public' });
    now += 60_000;
    expect(await store.keyFor(header('k1'))).toMatchObject({ type: 'public' });
    expect(issuer.calls).toEqual(['https://issuer/v1/keys']);
  });

  it('refetches for unknown kids at most once per cooldown (60 s / AUTH_JWKS_REQUESTS_PER_MINUTE)', async () => {
    const issuer = fakeIssuer(() => json({ keys: [rsaJwk('k1')] }));
    const store = new JwksKeyStore('https://issuer/v1/keys', options, issuer.fetchFn);
    await store.keyFor(header('k1'));
    for (let i = 0; i < 5; i++) await expect(store.keyFor(header(`unknown-${i}`))).rejects.toThrow(new InvalidTokenError('The access token was signed with an unknown key'));
    expect(issuer.calls).toHaveLength(1);
    now += 30_001;
    for (let i = 0; i < 5; i++) await expect(store.keyFor(header(`unknown-${i}`))).rejects.toBeInstanceOf(InvalidTokenError);
    expect(issuer.calls).toHaveLength(2);
  });

  it('skips keys that cannot verify RS256 tokens', async () => {
    const issuer = fakeIssuer(() =>
      json({ keys: [rsaJwk('enc', { use: 'enc' }), rsaJwk('ps', { alg: 'PS256' }), { kty: 'EC', kid: 'ec', crv: 'P-256', x: 'a', y: 'b' }, rsaJwk('good')] }),
    );
    const store = new JwksKeyStore('https://issuer/v1/keys', options, issuer.fetchFn);
    await expect(store.keyFor(header('good'))).resolves.toMatchObject({ type: 'public' });
    for (const kid of ['enc', 'ps', 'ec']) await expect(store.keyFor(header(kid))).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it.each([
    ['answers 502', () => json({ error: 'down' }, 502)],
    ['refuses the connection', () => Promise.reject(new TypeError('fetch failed'))],
    ['serves something else than a JWKS', () => json({ hello: 'world' })],
  ])('is unavailable (not invalid) when the issuer %s and no key is known', async (_name, answer) => {
    const issuer = fakeIssuer(answer);
    const store = new JwksKeyStore('https://issuer/v1/keys', options, issuer.fetchFn);
    const failure = await store.keyFor(header('k1')).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(KeySourceUnavailableError);
    expect((failure as KeySourceUnavailableError).retryAfterSeconds).toBeGreaterThan(0);
  });

  it('keeps using known keys when a refresh of stale keys fails, and does not retry the fetch within the cooldown', async () => {
    let up = true;
    const issuer = fakeIssuer(() => (up ? json({ keys: [rsaJwk('k1')] }) : Promise.reject(new TypeError('fetch failed'))));
    const store = new JwksKeyStore('https://issuer/v1/keys', { ...options, cacheMaxAgeMs: 1000 }, issuer.fetchFn);
    await store.keyFor(header('k1'));
    up = false;
    now += 120_000;
    await expect(store.keyFor(header('k1'))).resolves.toMatchObject({ type: 'public' });
    await expect(store.keyFor(header('k1'))).resolves.toMatchObject({ type: 'public' });
    expect(issuer.calls).toHaveLength(2);
    // A key it never saw cannot be had while the issuer is down: retry later, not "invalid".
    await expect(store.keyFor(header('rotated-in'))).rejects.toBeInstanceOf(KeySourceUnavailableError);
    expect(issuer.calls).toHaveLength(2);

    up = true;
    now += 30_001;
    await expect(store.keyFor(header('k1'))).resolves.toMatchObject({ type: 'public' });
    expect(issuer.calls).toHaveLength(3);
  });
});
