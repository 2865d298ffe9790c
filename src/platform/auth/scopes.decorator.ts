import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiForbiddenResponse, ApiSecurity } from '@nestjs/swagger';
import { OAUTH_AUTHORIZATION_CODE, OAUTH_CLIENT_CREDENTIALS } from './oauth-schemes.js';

export const SCOPES_KEY = 'order-flow:scopes';
export const PUBLIC_KEY = 'order-flow:public';

export const Scope = {
  ORDERS_WRITE: 'orders.write',
  ORDERS_READ: 'orders.read',
  ADMIN: 'orders.admin',
} as const;
export type ScopeName = (typeof Scope)[keyof typeof Scope];

export const SCOPE_DESCRIPTIONS: Record<ScopeName, string> = {
  [Scope.ORDERS_WRITE]: 'Submit orders',
  [Scope.ORDERS_READ]: 'Read orders, their status and the catalogue',
  [Scope.ADMIN]: 'Operator endpoints (dead letters, replays, parked outbox messages)',
};

/**
 * The OAuth scopes a route needs (all of them); enforced by AccessTokenGuard (docs/security.md) and
 * documented in the OpenAPI document, so Swagger UI sends the token and lists the scopes (401, 429 and
 * their headers are added to every secured operation by describeResponses).
 */
export const RequireScopes = (...scopes: ScopeName[]) =>
  applyDecorators(
    SetMetadata(SCOPES_KEY, scopes),
    ApiSecurity(OAUTH_CLIENT_CREDENTIALS, scopes),
    ApiSecurity(OAUTH_AUTHORIZATION_CODE, scopes),
    ApiForbiddenResponse({ description: `The token lacks the scope ${scopes.join(' ')} (code FORBIDDEN)` }),
  );

/** A route that needs no token (health, metrics, docs). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);
