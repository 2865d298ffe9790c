import { SetMetadata } from '@nestjs/common';

export const SCOPES_KEY = 'order-flow:scopes';
export const PUBLIC_KEY = 'order-flow:public';

export const Scope = {
  ORDERS_WRITE: 'orders.write',
  ORDERS_READ: 'orders.read',
  ADMIN: 'orders.admin',
} as const;
export type ScopeName = (typeof Scope)[keyof typeof Scope];

/** The OAuth scopes a route needs; read by the authentication guard (DESIGN §9). */
export const RequireScopes = (...scopes: ScopeName[]) => SetMetadata(SCOPES_KEY, scopes);

/** A route that needs no token (health, metrics, docs). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);
