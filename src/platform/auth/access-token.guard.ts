import { Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { ProblemCode, ProblemException } from '../http/problem.js';
import { missingScopes, type AuthenticatedClient } from './access-token.js';
import { AccessTokenVerifier } from './access-token.verifier.js';
import { describeTokenFailure, InvalidTokenError, KeySourceUnavailableError } from './auth.errors.js';
import { bearerChallenge, bearerTokenOf } from './bearer-challenge.js';
import { PUBLIC_KEY, SCOPES_KEY, type ScopeName } from './scopes.decorator.js';

/**
 * The global guard (APP_GUARD): every HTTP route needs a valid access token unless it is `@Public()`,
 * and the scopes of its `@RequireScopes()`. 401 with a Bearer challenge for a missing or bad token,
 * 403 for a missing scope, 503 when the issuer's keys cannot be fetched. Kafka handlers are not HTTP
 * and pass through.
 */
@Injectable()
export class AccessTokenGuard implements CanActivate {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: AccessTokenVerifier,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;

    const req = context.switchToHttp().getRequest<Request & { user: AuthenticatedClient }>();
    const res = context.switchToHttp().getResponse<Response>();
    req.user = await this.authenticate(req, res);
    const required = this.reflector.getAllAndOverride<ScopeName[] | undefined>(SCOPES_KEY, targets) ?? [];
    const missing = missingScopes(req.user.scopes, required);
    if (missing.length) {
      this.logger.debug(`client ${req.user.clientId} lacks ${missing.join(' ')} for ${req.method} ${req.path}`);
      res.setHeader('WWW-Authenticate', bearerChallenge({ error: 'insufficient_scope', description: 'The access token lacks a required scope', scope: required.join(' ') }));
      throw new ProblemException(ProblemCode.FORBIDDEN, `This needs the scope(s): ${missing.join(' ')}`);
    }
    return true;
  }

  /** The verified caller, or the 401 / 503 problem for why there is none. */
  private async authenticate(req: Request, res: Response): Promise<AuthenticatedClient> {
    const header = req.headers.authorization;
    if (!header || !/^bearer(\s|$)/i.test(header)) {
      res.setHeader('WWW-Authenticate', bearerChallenge());
      throw new ProblemException(ProblemCode.UNAUTHORIZED, 'Send an OAuth 2.0 access token as `Authorization: Bearer <token>`');
    }
    const token = bearerTokenOf(req);
    if (!token) return this.refuse(res, 'The Authorization header must be `Bearer <token>`');
    try {
      return await this.verifier.verify(token);
    } catch (err) {
      if (err instanceof KeySourceUnavailableError) {
        // The token may be fine: a 401 would tell the client to throw it away. Retry instead.
        res.setHeader('Retry-After', String(err.retryAfterSeconds));
        throw new ProblemException(ProblemCode.SERVICE_UNAVAILABLE, 'The token issuer cannot be reached; try again shortly');
      }
      if (err instanceof ProblemException) throw err;
      const cause = err instanceof InvalidTokenError ? err.cause : err;
      if (cause) this.logger.debug(`token refused: ${(cause as Error).message ?? String(cause)}`);
      return this.refuse(res, describeTokenFailure(err));
    }
  }

  private refuse(res: Response, description: string): never {
    res.setHeader('WWW-Authenticate', bearerChallenge({ error: 'invalid_token', description }));
    throw new ProblemException(ProblemCode.UNAUTHORIZED, description);
  }
}
