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
const options = { cacheMaxAgeMs: 600_000, requestsPerMinute: 2, timeoutMs: 1000 };

describe('JwksKeyStore', () => {
  it('fetches once and serves known kids from the cache', async () => {
    const issuer = fakeIssuer(() => json({ keys: [rsaJwk('k1'), rsaJwk('k2')] }));
    const store = new JwksKeyStore('https://issuer/v1/keys', options, issuer.fetchFn);
    expect(await store.publicKeyPem('k1')).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(await store.publicKeyPem('k2')).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(issuer.calls).toHaveLength(1);
  });

  it('refetches for an unknown kid within the rate budget, then refuses without fetching', async () => {
    const issuer = fakeIssuer(() => json({ keys: [rsaJwk('k1')] }));
    const store = new JwksKeyStore('https://issuer/v1/keys', options, issuer.fetchFn);
    for (let i = 0; i < 5; i++) await expect(store.publicKeyPem(`unknown-${i}`)).rejects.toBeInstanceOf(InvalidTokenError);
    expect(issuer.calls).toHaveLength(2);
  });

  it('skips keys that cannot verify RS256 tokens', async () => {
    const issuer = fakeIssuer(() =>
      json({ keys: [rsaJwk('enc', { use: 'enc' }), rsaJwk('ps', { alg: 'PS256' }), { kty: 'EC', kid: 'ec', crv: 'P-256', x: 'a', y: 'b' }, rsaJwk('good')] }),
    );
    const store = new JwksKeyStore('https://issuer/v1/keys', options, issuer.fetchFn);
    await expect(store.publicKeyPem('good')).resolves.toMatch(/PUBLIC KEY/);
    for (const kid of ['enc', 'ps', 'ec']) await expect(store.publicKeyPem(kid)).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it('is unavailable (not invalid) when the issuer cannot be reached and no key is known', async () => {
    const issuer = fakeIssuer(() => json({ error: 'down' }, 502));
    const store = new JwksKeyStore('https://issuer/v1/keys', options, issuer.fetchFn);
    await expect(store.publicKeyPem('k1')).rejects.toBeInstanceOf(KeySourceUnavailableError);
  });

  it('keeps using known keys when a refresh of stale keys fails', async () => {
    let now = 0;
    let up = true;
    const jwk = rsaJwk('k1');
    const issuer = fakeIssuer(() => (up ? json({ keys: [jwk] }) : Promise.reject(new Error('ECONNREFUSED'))));
    const store = new JwksKeyStore('https://issuer/v1/keys', { ...options, cacheMaxAgeMs: 1000 }, issuer.fetchFn, () => now);
    const pem = await store.publicKeyPem('k1');
    up = false;
    now = 120_000;
    await expect(store.publicKeyPem('k1')).resolves.toBe(pem);
    expect(issuer.calls).toHaveLength(2);
  });
});
