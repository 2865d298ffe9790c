import { Injectable, Logger, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { Request, Response } from 'express';
import { ProblemCode, ProblemException } from '../http/problem.js';
import { missingScopes, type AuthenticatedClient } from './access-token.js';
import { describeTokenFailure, InvalidTokenError, KeySourceUnavailableError } from './auth.errors.js';
import { bearerChallenge } from './bearer-challenge.js';
import { JWT_STRATEGY } from './jwt.strategy.js';
import { PUBLIC_KEY, SCOPES_KEY, type ScopeName } from './scopes.decorator.js';
import { bearerTokenOf, VerifiedTokenCache } from './verified-token-cache.js';

/**
 * The global guard (APP_GUARD): every HTTP route needs a valid access token unless it is `@Public()`,
 * and the scopes of its `@RequireScopes()`. 401 with a Bearer challenge for a missing or bad token,
 * 403 for a missing scope, 503 when the issuer's keys cannot be fetched. Kafka handlers are not HTTP
 * and pass through. A token verified lately is taken from the VerifiedTokenCache without passport.
 */
@Injectable()
export class AccessTokenGuard extends AuthGuard(JWT_STRATEGY) {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly reflector: Reflector,
    private readonly verified: VerifiedTokenCache,
  ) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;

    const req = context.switchToHttp().getRequest<Request & { user: AuthenticatedClient }>();
    const known = this.verified.get(bearerTokenOf(req));
    if (known) req.user = known;
    else await super.canActivate(context);
    const required = this.reflector.getAllAndOverride<ScopeName[] | undefined>(SCOPES_KEY, targets) ?? [];
    const missing = missingScopes(req.user.scopes, required);
    if (missing.length) {
      this.logger.debug(`client ${req.user.clientId} lacks ${missing.join(' ')} for ${req.method} ${req.path}`);
      const res = context.switchToHttp().getResponse<Response>();
      res.setHeader('WWW-Authenticate', bearerChallenge({ error: 'insufficient_scope', description: 'The access token lacks a required scope', scope: required.join(' ') }));
      throw new ProblemException(ProblemCode.FORBIDDEN, `This needs the scope(s): ${missing.join(' ')}`);
    }
    return true;
  }

  /** Called by passport's outcome: the verified user, or the reason it failed (`err` or `info`). */
  override handleRequest<TUser = AuthenticatedClient>(err: unknown, user: unknown, info: unknown, context: ExecutionContext): TUser {
    if (!err && user) return user as TUser;
    const req = context.switchToHttp().getRequest<Request>();
    const res = context.switchToHttp().getResponse<Response>();
    const reason = err ?? info;

    if (reason instanceof KeySourceUnavailableError) {
      // The token may be fine: a 401 would tell the client to throw it away. Retry instead.
      res.setHeader('Retry-After', String(reason.retryAfterSeconds));
      throw new ProblemException(ProblemCode.SERVICE_UNAVAILABLE, 'The token issuer cannot be reached; try again shortly');
    }
    if (reason instanceof ProblemException) throw reason;

    const header = req.headers.authorization;
    if (!header || !/^bearer(\s|$)/i.test(header)) {
      res.setHeader('WWW-Authenticate', bearerChallenge());
      throw new ProblemException(ProblemCode.UNAUTHORIZED, 'Send an OAuth 2.0 access token as `Authorization: Bearer <token>`');
    }
    const description = (reason as Error | undefined)?.message === 'No auth token' ? 'The Authorization header must be `Bearer <token>`' : describeTokenFailure(reason);
    if (!(reason instanceof InvalidTokenError)) this.logger.debug(`token refused: ${(reason as Error | undefined)?.message ?? 'unknown'}`);
    res.setHeader('WWW-Authenticate', bearerChallenge({ error: 'invalid_token', description }));
    throw new ProblemException(ProblemCode.UNAUTHORIZED, description);
  }
}
