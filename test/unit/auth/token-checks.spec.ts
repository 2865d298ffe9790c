import { createHmac, createPublicKey, createSign, generateKeyPairSync } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import type { AuthConfig } from '../../../src/config/auth.config.js';
import { oauthEndpoints } from '../../../src/config/auth.config.js';
import { AccessTokenVerifier } from '../../../src/platform/auth/access-token.verifier.js';
import { InvalidTokenError } from '../../../src/platform/auth/auth.errors.js';
import { SigningKeyResolver } from '../../../src/platform/auth/signing-key.resolver.js';
import { VerifiedTokenCache } from '../../../src/platform/auth/verified-token-cache.js';

const ISSUER = 'https://example.okta.com/oauth2/default';
const AUDIENCE = 'api://order-flow';
const cfg: AuthConfig = {
  issuer: ISSUER,
  audience: AUDIENCE,
  clockSkewSeconds: 30,
  jwksRequestsPerMinute: 10,
  jwksCacheMaxAgeMs: 600_000,
  httpTimeoutMs: 1000,
  tokenCacheSize: 100,
  tokenCacheMaxAgeMs: 60_000,
  swaggerClientId: undefined,
  ...oauthEndpoints(ISSUER),
};

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
const now = (): number => Math.floor(Date.now() / 1000);

function sign(claims: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const input = `${b64({ alg: 'RS256', kid: 'k1', ...header })}.${b64(claims)}`;
  return `${input}.${createSign('RSA-SHA256').update(input).sign(privateKey).toString('base64url')}`;
}
const good = (extra: Record<string, unknown> = {}) => ({ iss: ISSUER, aud: AUDIENCE, sub: '0oa1', cid: '0oa1', exp: now() + 300, iat: now(), scp: ['orders.read'], ...extra });

/** The real verifier with keys from a strict fake resolver (no network). */
const publicKeyObject = createPublicKey(publicPem);
const resolver = {
  keyFor: async (raw: string) => {
    if (decodeProtectedHeader(raw).kid !== 'k1') throw new InvalidTokenError('The access token was signed with an unknown key');
    return publicKeyObject;
  },
} as unknown as SigningKeyResolver;
const verified = new VerifiedTokenCache(cfg);
const verifier = new AccessTokenVerifier(resolver, verified, cfg);

type Outcome = { user?: unknown; refused?: string };
function verify(token: string): Promise<Outcome> {
  return verifier.verify(token).then(
    (user) => ({ user }),
    (err: unknown) => {
      if (!(err instanceof InvalidTokenError)) throw err;
      return { refused: err.description };
    },
  );
}

describe('access token checks (AccessTokenVerifier)', () => {
  it('accepts a good Okta token, builds req.user and remembers the token until its exp', async () => {
    const claims = good();
    const token = sign(claims);
    expect(await verify(token)).toEqual({ user: { sub: '0oa1', clientId: '0oa1', owner: '0oa1', scopes: ['orders.read'] } });
    expect(verified.get(token)).toEqual({ sub: '0oa1', clientId: '0oa1', owner: '0oa1', scopes: ['orders.read'] });
    expect(verified.get(token, claims.exp * 1000)).toBeUndefined();
  });

  it.each([
    ['another audience', () => sign(good({ aud: 'api://default' })), /not meant for this API/],
    ['another issuer', () => sign(good({ iss: 'https://evil.okta.com/oauth2/default' })), /another issuer/],
    ['expired beyond the skew', () => sign(good({ exp: now() - 31 - 5 })), /expired/],
    ['not valid yet beyond the skew', () => sign(good({ nbf: now() + 60 })), /not valid yet/],
    ['no expiry', () => sign({ ...good(), exp: undefined }), /no expiry/],
    ['a tampered payload', () => sign(good()).replace(/\.[^.]+\./, `.${b64(good({ scp: ['orders.admin'] }))}.`), /signature/],
    [
      'HS256 with the public key',
      () => {
        const input = `${b64({ alg: 'HS256', kid: 'k1' })}.${b64(good())}`;
        return `${input}.${createHmac('sha256', publicPem).update(input).digest('base64url')}`;
      },
      /RS256/,
    ],
    ['no subject', () => sign(good({ sub: undefined, cid: undefined })), /no subject/],
  ])('refuses %s', async (_name, token, reason) => {
    const refused = token();
    const outcome = await verify(refused);
    expect(outcome.user).toBeUndefined();
    expect(outcome.refused).toMatch(reason);
    expect(verified.get(refused)).toBeUndefined();
  });

  it('allows the configured clock skew', async () => {
    expect((await verify(sign(good({ exp: now() - 10 })))).user).toBeDefined();
    expect((await verify(sign(good({ nbf: now() + 10 })))).user).toBeDefined();
  });
});

describe('SigningKeyResolver pre-checks (before any network)', () => {
  const resolverUnderTest = new SigningKeyResolver(cfg);
  const realFetch = globalThis.fetch;
  let fetched = 0;
  beforeAll(() => {
    globalThis.fetch = (async () => {
      fetched++;
      throw new Error('no network in unit tests');
    }) as typeof fetch;
  });
  afterAll(() => {
    globalThis.fetch = realFetch;
  });

  it.each([
    ['garbage', 'not-a-jwt', /malformed/],
    ['alg none', `${b64({ alg: 'none', kid: 'k1' })}.${b64(good())}.`, /RS256/],
    ['HS256', `${b64({ alg: 'HS256', kid: 'k1' })}.${b64(good())}.sig`, /RS256/],
    ['no kid', `${b64({ alg: 'RS256' })}.${b64(good())}.sig`, /no signing key/],
    ['foreign issuer', `${b64({ alg: 'RS256', kid: 'k1' })}.${b64(good({ iss: 'https://evil.example' }))}.sig`, /another issuer/],
    ['a JSON array payload', `${b64({ alg: 'RS256', kid: 'k1' })}.${b64([1])}.sig`, /malformed/],
  ])('refuses %s without contacting anyone', async (_name, token, reason) => {
    await expect(resolverUnderTest.keyFor(token)).rejects.toThrow(reason);
    expect(fetched).toBe(0);
  });
});
