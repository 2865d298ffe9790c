import { registerAs } from '@nestjs/config';
import { env } from './env.js';

/** Okta's custom authorization servers (and the local provider) serve these under the issuer. */
export function oauthEndpoints(issuer: string): { discoveryUrl: string; tokenUrl: string; authorizationUrl: string } {
  const base = issuer.replace(/\/+$/, '');
  return {
    discoveryUrl: `${base}/.well-known/openid-configuration`,
    tokenUrl: `${base}/v1/token`,
    authorizationUrl: `${base}/v1/authorize`,
  };
}

export const authConfig = registerAs('auth', () => {
  const e = env();
  const issuer = e.AUTH_ISSUER_URL;
  return {
    /** Compared byte for byte with the token's `iss` and the discovery document's `issuer`. */
    issuer,
    audience: e.AUTH_AUDIENCE,
    clockSkewSeconds: e.AUTH_CLOCK_SKEW_SECONDS,
    jwksRequestsPerMinute: e.AUTH_JWKS_REQUESTS_PER_MINUTE,
    jwksCacheMaxAgeMs: e.AUTH_JWKS_CACHE_MAX_AGE_SECONDS * 1000,
    httpTimeoutMs: e.AUTH_HTTP_TIMEOUT_MS,
    /** Verified tokens kept (0: every request is verified in full) and for how long at most (see VerifiedTokenCache). */
    tokenCacheSize: e.AUTH_TOKEN_CACHE_SIZE,
    tokenCacheMaxAgeMs: e.AUTH_TOKEN_CACHE_MAX_AGE_SECONDS * 1000,
    /** Pre-filled in Swagger UI's Authorize dialog (the Okta SPA client for PKCE, or the dev client). */
    swaggerClientId: e.AUTH_SWAGGER_CLIENT_ID,
    ...oauthEndpoints(issuer),
  };
});
export type AuthConfig = ReturnType<typeof authConfig>;
