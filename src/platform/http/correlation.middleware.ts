import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { HEADER_CORRELATION_ID } from '../../contracts/envelope.js';
import { correlation } from '../observability/correlation.js';

const SAFE_ID = /^[A-Za-z0-9._:-]{1,200}$/;

type WithCorrelationId = Request & { correlationId?: string };

/** The correlation id CorrelationMiddleware gave the request (every routed request has one). */
export function correlationIdOf(req: Request): string | undefined {
  return (req as WithCorrelationId).correlationId;
}

/** The caller's `X-Correlation-Id` when it is safe to log and echo, else a new one. */
export function correlationIdFrom(req: Request): string {
  const given = req.header(HEADER_CORRELATION_ID);
  return given && SAFE_ID.test(given) ? given : randomUUID();
}

/** Takes the caller's `X-Correlation-Id` (or makes one), echoes it, and scopes the request's logs to it. */
@Injectable()
export class CorrelationMiddleware implements NestMiddleware {
  use(req: Request, res: Response, next: NextFunction): void {
    const correlationId = correlationIdFrom(req);
    res.setHeader(HEADER_CORRELATION_ID, correlationId);
    (req as WithCorrelationId).correlationId = correlationId;
    correlation.run({ correlationId }, () => next());
  }
}
