import { Inject, Injectable } from '@nestjs/common';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-jwt';
import { authConfig, type AuthConfig } from '../../config/auth.config.js';
import { principalOf, type AccessTokenClaims, type AuthenticatedClient } from './access-token.js';
import { InvalidTokenError } from './auth.errors.js';
import { SigningKeyResolver } from './signing-key.resolver.js';
import { bearerTokenOf, VerifiedTokenCache } from './verified-token-cache.js';

export const JWT_STRATEGY = 'okta-jwt';

/**
 * Verifies an Okta-style JWT access token: RS256 only, signed by a key of the issuer's JWKS, issued
 * by the configured issuer for the configured audience, within exp/nbf give or take the clock skew.
 * The local OpenID provider's tokens go through exactly this code; only the issuer URL differs.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, JWT_STRATEGY) {
  constructor(
    keys: SigningKeyResolver,
    private readonly verified: VerifiedTokenCache,
    @Inject(authConfig.KEY) cfg: AuthConfig,
  ) {
    super({
      jwtFromRequest: bearerTokenOf,
      passReqToCallback: true,
      secretOrKeyProvider: (_req: unknown, rawJwt: string, done: (err: unknown, key?: string) => void) => {
        keys.keyFor(rawJwt).then(
          // passport-jwt hands the key to jsonwebtoken.verify, which takes a KeyObject (its types say string).
          (pem) => done(null, keyObjectOf(pem) as unknown as string),
          (err: unknown) => done(err),
        );
      },
      algorithms: ['RS256'],
      issuer: cfg.issuer,
      audience: cfg.audience,
      ignoreExpiration: false,
      jsonWebTokenOptions: { clockTolerance: cfg.clockSkewSeconds },
    });
  }

  /** Called once the signature, issuer, audience and times have passed. */
  validate(req: unknown, claims: AccessTokenClaims): AuthenticatedClient {
    // jsonwebtoken accepts a token without `exp`; an access token that never expires is not one we take.
    if (typeof claims.exp !== 'number') throw new InvalidTokenError('The access token has no expiry');
    const principal = principalOf(claims);
    if (!principal) throw new InvalidTokenError('The access token names no subject');
    const token = bearerTokenOf(req);
    if (token) this.verified.remember(token, principal, claims.exp);
    return principal;
  }
}

/**
 * Parsed public keys by PEM. Given a PEM, jsonwebtoken parses it again for every token (a visible
 * share of the CPU under load); a KeyObject it uses as it is. Issuers hold a handful of keys.
 */
const parsedKeys = new Map<string, KeyObject>();
function keyObjectOf(pem: string): KeyObject {
  let key = parsedKeys.get(pem);
  if (!key) {
    if (parsedKeys.size >= 64) parsedKeys.clear();
    key = createPublicKey(pem);
    parsedKeys.set(pem, key);
  }
  return key;
}
