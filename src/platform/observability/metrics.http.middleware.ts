import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { MetricsService } from './metrics.service.js';

/** Label for requests that matched no route (404s, or rejected before routing): keeps cardinality bounded. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Times every HTTP request until its response is sent, labelled with the route pattern Express
 * matched (`/api/orders/:orderId`, never the raw URL, so one series per route, not per order).
 * A middleware rather than an interceptor, so requests refused by the guards are counted too.
 */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  constructor(private readonly metrics: MetricsService) {}

  use(req: Request, res: Response, next: NextFunction): void {
    const end = this.metrics.httpDuration.startTimer();
    res.once('finish', () => {
      end({ method: req.method, route: routePattern(req), status_code: String(res.statusCode) });
    });
    next();
  }
}

/**
 * The pattern of the route that handled the request. Nest mounts middleware as wildcard routes
 * (`*path`), so a wildcard left in `req.route` means no controller route matched.
 */
export function routePattern(req: Pick<Request, 'route'>): string {
  const pattern: unknown = req.route?.path;
  return typeof pattern === 'string' && !pattern.includes('*') ? pattern : UNMATCHED_ROUTE;
}
