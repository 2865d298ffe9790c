import { number, text, url } from './env-kit.js';

/**
 * Authentication settings (docs/security.md). The service is an OAuth 2.0 resource server: it needs only
 * the issuer (keys are found through its discovery document) and the audience its tokens carry.
 * The defaults point at the local provider (`node scripts/oidc-provider.mjs`).
 */
export const authEnv = {
  AUTH_ISSUER_URL: url(['http', 'https'], 'AUTH_ISSUER_URL must be an http(s) URL such as https://{org}.okta.com/oauth2/default').default('http://127.0.0.1:4000'),
  AUTH_AUDIENCE: text.default('api://order-flow'),
  AUTH_CLOCK_SKEW_SECONDS: number({ min: 0, max: 300 }).default(30),
  AUTH_JWKS_REQUESTS_PER_MINUTE: number({ min: 1, max: 600 }).default(10),
  AUTH_JWKS_CACHE_MAX_AGE_SECONDS: number({ min: 10 }).default(600),
  AUTH_TOKEN_CACHE_SIZE: number({ min: 0, max: 1000000 }).default(10000),
  AUTH_TOKEN_CACHE_MAX_AGE_SECONDS: number({ min: 1, max: 3600 }).default(60),
  AUTH_HTTP_TIMEOUT_MS: number({ min: 100, max: 60000 }).default(5000),
  AUTH_SWAGGER_CLIENT_ID: text.optional(),
};
