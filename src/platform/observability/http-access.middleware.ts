import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { PinoLogger } from 'nestjs-pino';
import type { Logger } from 'pino';
import { correlationIdOf } from '../http/correlation.middleware.js';
import { MetricsService } from './metrics.service.js';

/** Label for requests that matched no route (404s, or rejected before routing): keeps cardinality bounded. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Probes and scrapes come every few seconds and say nothing about traffic: timed, never logged. */
const QUIET_PATHS = ['/health', '/metrics'];

/**
 * Times and logs every HTTP request once its response is done.
 *
 * - The duration histogram is labelled with the route pattern Express matched
 *   (`/api/orders/:orderId`, never the raw URL, so one series per route, not per order).
 * - The access log line (`request completed`, or `request aborted` when the client went away first)
 *   is written at `info`, with method, path without the query string, status, response time and
 *   correlation id. Nothing else of the request: never a header, so never a token.
 *
 * One middleware for both, rather than pino-http: it gave every request two child loggers and ran
 * the request serializer and the redaction up front, even at `LOG_LEVEL=warn` when no line is
 * written, a large share of the CPU of a cheap request (docs/benchmarks.md).
 * A middleware rather than an interceptor, so requests refused by the guards count too.
 */
@Injectable()
export class HttpAccessMiddleware implements NestMiddleware {
  constructor(private readonly metrics: MetricsService) {}

  use(req: Request, res: Response, next: NextFunction): void {
    const started = performance.now();
    res.once('close', () => {
      const seconds = (performance.now() - started) / 1000;
      if (res.writableFinished) {
        this.metrics.httpDuration.observe({ method: req.method, route: routePattern(req), status_code: String(res.statusCode) }, seconds);
      }
      const log = PinoLogger.root as Logger | undefined; // built by nestjs-pino at startup
      if (log?.isLevelEnabled('info') && !isQuiet(req.originalUrl)) log.info(accessLine(req, res, seconds), res.writableFinished ? 'request completed' : 'request aborted');
    });
    next();
  }
}

function isQuiet(url: string): boolean {
  return QUIET_PATHS.some((p) => url === p || url.startsWith(`${p}/`) || url.startsWith(`${p}?`));
}

/** The fields of an access log line. `correlationId` is the one the response carried (see CorrelationMiddleware). */
function accessLine(req: Request, res: Response, seconds: number): Record<string, unknown> {
  const correlationId = correlationIdOf(req);
  return {
    req: { method: req.method, url: req.originalUrl.split('?')[0] },
    res: { statusCode: res.statusCode },
    responseTime: Math.round(seconds * 1000),
    ...(correlationId ? { correlationId } : {}),
  };
}

/**
 * The pattern of the route that handled the request. Nest mounts middleware as wildcard routes
 * (`*path`), so a wildcard left in `req.route` means no controller route matched.
 */
export function routePattern(req: Pick<Request, 'route'>): string {
  const pattern: unknown = req.route?.path;
  return typeof pattern === 'string' && !pattern.includes('*') ? pattern : UNMATCHED_ROUTE;
}
