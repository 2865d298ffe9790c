import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { ProblemCode, ProblemException } from './problem.js';

/** A request with a body must be JSON: anything else is 415, before it reaches validation. */
@Injectable()
export class JsonOnlyMiddleware implements NestMiddleware {
  use(req: Request, _res: Response, next: NextFunction): void {
    const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    if (['POST', 'PUT', 'PATCH'].includes(req.method) && hasBody && !req.is(['application/json', 'application/*+json'])) {
      next(new ProblemException(ProblemCode.UNSUPPORTED_MEDIA_TYPE, 'Send the body as application/json'));
      return;
    }
    next();
  }
}
