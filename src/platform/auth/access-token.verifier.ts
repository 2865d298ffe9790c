import { Inject, Injectable } from '@nestjs/common';
import { jwtVerify } from 'jose';
import { authConfig, type AuthConfig } from '../../config/auth.config.js';
import { principalOf, type AccessTokenClaims, type AuthenticatedClient } from './access-token.js';
import { describeTokenFailure, InvalidTokenError, KeySourceUnavailableError } from './auth.errors.js';
import { SigningKeyResolver } from './signing-key.resolver.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

/**
 * Verifies an Okta-style JWT access token with jose: RS256 only, signed by a key of the issuer's JWKS,
 * issued by the configured issuer for the configured audience, with an `exp`, within exp/nbf give or
 * take the clock skew. The local OpenID provider's tokens go through exactly this code; only the issuer
 * URL differs. A token that passed lately is taken from the VerifiedTokenCache.
 */
@Injectable()
export class AccessTokenVerifier {
  constructor(
    private readonly keys: SigningKeyResolver,
    private readonly verified: VerifiedTokenCache,
    @Inject(authConfig.KEY) private readonly cfg: AuthConfig,
  ) {}

  /** The caller of a good token; InvalidTokenError (401) or KeySourceUnavailableError (503) otherwise. */
  async verify(token: string): Promise<AuthenticatedClient> {
    return this.verified.get(token) ?? this.check(token);
  }

  /** The full check (signature, issuer, audience, times), without the cache. */
  async check(token: string): Promise<AuthenticatedClient> {
    let claims: AccessTokenClaims & { exp?: unknown };
    try {
      const key = await this.keys.keyFor(token);
      ({ payload: claims } = await jwtVerify(token, key, {
        algorithms: ['RS256'],
        issuer: this.cfg.issuer,
        audience: this.cfg.audience,
        clockTolerance: this.cfg.clockSkewSeconds,
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      if (err instanceof KeySourceUnavailableError || err instanceof InvalidTokenError) throw err;
      throw new InvalidTokenError(describeTokenFailure(err), { cause: err });
    }
    const principal = principalOf(claims);
    if (!principal) throw new InvalidTokenError('The access token names no subject');
    this.verified.remember(token, principal, claims.exp as number);
    return principal;
  }
}
