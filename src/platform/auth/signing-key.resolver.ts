import { Inject, Injectable, Logger } from '@nestjs/common';
import { decodeJwt, decodeProtectedHeader, type JWTVerifyGetKey } from 'jose';
import { authConfig, type AuthConfig } from '../../config/auth.config.js';
import { InvalidTokenError, KeySourceUnavailableError } from './auth.errors.js';
import { JwksKeyStore } from './jwks-key-store.js';

/** After a failed discovery, requests answer 503 at once for this long instead of hammering the issuer. */
const DISCOVERY_BACKOFF_MS = 5000;

type VerificationKey = Awaited<ReturnType<JWTVerifyGetKey>>;

interface DiscoveryDocument {
  issuer?: unknown;
  jwks_uri?: unknown;
}

/** The unverified header and claims (jose's decoders), only to decide whether to look for a key at all. */
function decodeUnverified(raw: string): { header: ReturnType<typeof decodeProtectedHeader>; iss: unknown } {
  try {
    return { header: decodeProtectedHeader(raw), iss: decodeJwt(raw).iss };
  } catch {
    throw new InvalidTokenError('The access token is malformed');
  }
}

/**
 * Finds the public key that signed an access token: the issuer's discovery document gives the JWKS
 * URL (fetched on first use, not at boot, so the issuer may come up after the service), and the
 * JwksKeyStore (jose's remote key set) caches the keys and limits refetches for unknown key ids. Only
 * the configured issuer is ever contacted: a token naming another issuer, another algorithm or no key
 * id is refused before any fetch.
 */
@Injectable()
export class SigningKeyResolver {
  private readonly logger = new Logger('Auth');
  private client?: Promise<JwksKeyStore>;
  private retryDiscoveryAt = 0;

  constructor(@Inject(authConfig.KEY) private readonly cfg: AuthConfig) {}

  /** The public key for this raw JWT, or InvalidTokenError / KeySourceUnavailableError. */
  async keyFor(rawJwt: string): Promise<VerificationKey> {
    const { header, iss } = decodeUnverified(rawJwt);
    if (header.alg !== 'RS256') throw new InvalidTokenError('The access token must be signed with RS256');
    if (typeof header.kid !== 'string' || !header.kid) throw new InvalidTokenError('The access token names no signing key');
    if (iss !== this.cfg.issuer) throw new InvalidTokenError('The access token was issued by another issuer');

    const store = await this.keyStore();
    try {
      return await store.keyFor({ ...header, alg: header.alg });
    } catch (err) {
      if (err instanceof KeySourceUnavailableError) this.logger.warn(`signing keys of ${this.cfg.issuer} unavailable: ${err.message}`);
      throw err;
    }
  }

  private keyStore(): Promise<JwksKeyStore> {
    if (!this.client) {
      const now = Date.now();
      if (now < this.retryDiscoveryAt) {
        return Promise.reject(new KeySourceUnavailableError('Discovery failed recently', Math.ceil((this.retryDiscoveryAt - now) / 1000)));
      }
      this.client = this.discover().catch((err: Error) => {
        this.client = undefined;
        this.retryDiscoveryAt = Date.now() + DISCOVERY_BACKOFF_MS;
        this.logger.warn(`OpenID discovery at ${this.cfg.discoveryUrl} failed: ${err.message}`);
        throw new KeySourceUnavailableError('The issuer cannot be reached', Math.ceil(DISCOVERY_BACKOFF_MS / 1000));
      });
    }
    return this.client;
  }

  private async discover(): Promise<JwksKeyStore> {
    const res = await fetch(this.cfg.discoveryUrl, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(this.cfg.httpTimeoutMs), redirect: 'error' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const doc = (await res.json()) as DiscoveryDocument;
    // OpenID Connect Discovery §4.3: the document must name exactly the issuer it was fetched for.
    if (doc.issuer !== this.cfg.issuer) throw new Error(`the document names issuer ${String(doc.issuer)}`);
    if (typeof doc.jwks_uri !== 'string' || !/^https?:\/\//.test(doc.jwks_uri)) throw new Error('the document has no jwks_uri');
    this.logger.log(`signing keys of ${this.cfg.issuer} come from ${doc.jwks_uri}`);
    return new JwksKeyStore(doc.jwks_uri, { cacheMaxAgeMs: this.cfg.jwksCacheMaxAgeMs, requestsPerMinute: this.cfg.jwksRequestsPerMinute, timeoutMs: this.cfg.httpTimeoutMs });
  }
}
