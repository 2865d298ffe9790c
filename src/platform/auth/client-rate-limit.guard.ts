import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ProblemCode, ProblemException } from '../http/problem.js';
import type { AuthenticatedClient } from './access-token.js';
import { RateLimiter } from './rate-limiter.js';

/**
 * Rate limit per OAuth client (RATE_LIMIT_PER_MINUTE), as a global guard after AccessTokenGuard: an
 * authenticated request counts against its client id, wherever it comes from; a public route
 * counts against the caller's IP. 429 problem+json with `Retry-After` when over the limit. With
 * REDIS_URL the counts are shared by all replicas (see RateLimiter).
 */
@Injectable()
export class ClientRateLimitGuard implements CanActivate {
  constructor(private readonly limiter: RateLimiter) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<Request & { user?: AuthenticatedClient }>();
    const res = context.switchToHttp().getResponse<Response>();
    const key = req.user ? `client:${req.user.clientId}` : `ip:${req.ip ?? 'unknown'}`;
    const d = await this.limiter.hit(key);
    res.setHeader('RateLimit-Limit', String(d.limit));
    res.setHeader('RateLimit-Remaining', String(d.remaining));
    res.setHeader('RateLimit-Reset', String(d.resetSeconds));
    if (!d.allowed) {
      res.setHeader('Retry-After', String(d.resetSeconds));
      throw new ProblemException(ProblemCode.RATE_LIMITED, `At most ${d.limit} requests per minute; retry after ${d.resetSeconds} s`);
    }
    return true;
  }
}
