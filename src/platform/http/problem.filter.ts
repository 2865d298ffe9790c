import { ArgumentsHost, Catch, HttpException, HttpStatus, Logger, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { HEADER_CORRELATION_ID } from '../../contracts/envelope.js';
import { correlation } from '../observability/correlation.js';
import { isTransient } from '../messaging/transient-error.js';
import { correlationIdFrom } from './correlation.middleware.js';
import { problem, PROBLEM_CONTENT_TYPE, ProblemCode, ProblemException, type ProblemDetails } from './problem.js';

/** Maps an HTTP status raised by the framework or a middleware to our problem code. */
function codeForStatus(status: number): ProblemCode {
  switch (status) {
    case HttpStatus.BAD_REQUEST:
      return ProblemCode.MALFORMED_REQUEST;
    case HttpStatus.UNAUTHORIZED:
      return ProblemCode.UNAUTHORIZED;
    case HttpStatus.FORBIDDEN:
      return ProblemCode.FORBIDDEN;
    case HttpStatus.NOT_FOUND:
      return ProblemCode.NOT_FOUND;
    case HttpStatus.METHOD_NOT_ALLOWED:
      return ProblemCode.METHOD_NOT_ALLOWED;
    case HttpStatus.PAYLOAD_TOO_LARGE:
      return ProblemCode.PAYLOAD_TOO_LARGE;
    case HttpStatus.UNSUPPORTED_MEDIA_TYPE:
      return ProblemCode.UNSUPPORTED_MEDIA_TYPE;
    case HttpStatus.TOO_MANY_REQUESTS:
      return ProblemCode.RATE_LIMITED;
    case HttpStatus.SERVICE_UNAVAILABLE:
      return ProblemCode.SERVICE_UNAVAILABLE;
    default:
      return ProblemCode.INTERNAL_ERROR;
  }
}

/** Errors raised by body-parser before Nest sees the request carry `type` and `status`. */
interface BodyParserError {
  type?: string;
  status?: number;
  expose?: boolean;
}

/**
 * Every error leaves as application/problem+json with a stable code. Nothing internal (stack,
 * SQL, driver message) reaches the client; a 5xx is logged with the correlation id instead.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const res = http.getResponse<Response>();
    const req = http.getRequest<Request>();
    // Health checks answer with terminus's own report (which check failed and why), not a problem.
    if (exception instanceof HttpException && req.path?.startsWith('/health')) {
      res.status(exception.getStatus()).json(exception.getResponse());
      return;
    }
    const body = this.toProblem(exception);
    body.instance = req.originalUrl?.split('?')[0];
    body.correlationId = correlation.current()?.correlationId;
    // Errors raised before CorrelationMiddleware ran (the body parser's 400 and 413) get an id here.
    if (!res.getHeader(HEADER_CORRELATION_ID)) {
      body.correlationId ??= correlationIdFrom(req);
      res.setHeader(HEADER_CORRELATION_ID, body.correlationId);
    }
    if (body.status >= 500) {
      this.logger.error(`${req.method} ${body.instance} → ${body.status} ${body.code}: ${(exception as Error)?.message}`, (exception as Error)?.stack);
    }
    if (body.status === HttpStatus.UNAUTHORIZED && !res.getHeader('WWW-Authenticate')) {
      res.setHeader('WWW-Authenticate', 'Bearer');
    }
    res.status(body.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
  }

  private toProblem(exception: unknown): ProblemDetails {
    if (exception instanceof ProblemException) return exception.toProblem();
    const bp = exception as BodyParserError;
    if (bp && typeof bp.type === 'string' && typeof bp.status === 'number') {
      if (bp.type === 'entity.parse.failed') return problem(ProblemCode.MALFORMED_REQUEST, 'The body is not valid JSON');
      if (bp.type === 'entity.too.large') return problem(ProblemCode.PAYLOAD_TOO_LARGE, 'The body exceeds the size limit');
      if (bp.status < 500) return problem(codeForStatus(bp.status), 'The body could not be read');
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const code = codeForStatus(status);
      const response = exception.getResponse();
      const message = typeof response === 'object' && response && 'message' in response ? (response as { message: unknown }).message : exception.message;
      const detail = status < 500 ? (Array.isArray(message) ? message.join('; ') : String(message)) : undefined;
      return problem(code, detail);
    }
    if (isTransient(exception)) return problem(ProblemCode.DATABASE_UNAVAILABLE, 'Try again shortly');
    return problem(ProblemCode.INTERNAL_ERROR);
  }
}
