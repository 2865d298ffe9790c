import type { Request } from 'express';
import { routePattern, UNMATCHED_ROUTE } from '../../../src/platform/observability/http-access.middleware.js';

describe('routePattern (the HTTP metrics route label)', () => {
  const req = (route: unknown) => ({ route }) as Pick<Request, 'route'>;

  it('is the pattern of the controller route, never the raw URL', () => {
    expect(routePattern(req({ path: '/api/orders/:orderId' }))).toBe('/api/orders/:orderId');
  });

  it('is "unmatched" when no controller route handled the request (only a middleware wildcard, or nothing)', () => {
    expect(routePattern(req({ path: '*path' }))).toBe(UNMATCHED_ROUTE);
    expect(routePattern(req({ path: '/api/{*path}' }))).toBe(UNMATCHED_ROUTE);
    expect(routePattern(req(undefined))).toBe(UNMATCHED_ROUTE);
    expect(routePattern(req({ path: /regex/ }))).toBe(UNMATCHED_ROUTE);
  });
});
