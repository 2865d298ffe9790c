import { HttpStatus } from '@nestjs/common';

/** Stable machine-readable codes of every error the API answers with (docs/architecture.md §3). */
export enum ProblemCode {
  VALIDATION_FAILED = 'VALIDATION_FAILED',
  MALFORMED_REQUEST = 'MALFORMED_REQUEST',
  FORBIDDEN_KEY = 'FORBIDDEN_KEY',
  UNAUTHORIZED = 'UNAUTHORIZED',
  FORBIDDEN = 'FORBIDDEN',
  NOT_FOUND = 'NOT_FOUND',
  ORDER_NOT_FOUND = 'ORDER_NOT_FOUND',
  IDEMPOTENCY_CONFLICT = 'IDEMPOTENCY_CONFLICT',
  ORDER_NOT_CANCELLABLE = 'ORDER_NOT_CANCELLABLE',
  PAYLOAD_TOO_LARGE = 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE = 'UNSUPPORTED_MEDIA_TYPE',
  METHOD_NOT_ALLOWED = 'METHOD_NOT_ALLOWED',
  RATE_LIMITED = 'RATE_LIMITED',
  DATABASE_UNAVAILABLE = 'DATABASE_UNAVAILABLE',
  SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE',
  INTERNAL_ERROR = 'INTERNAL_ERROR',
}

export interface FieldViolation {
  field: string;
  message: string;
}

/** RFC 9457 problem details, plus `code`, `correlationId` and, for 400, every violated field. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  code: ProblemCode;
  detail?: string;
  instance?: string;
  correlationId?: string;
  errors?: FieldViolation[];
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

const TITLES: Record<ProblemCode, [number, string]> = {
  [ProblemCode.VALIDATION_FAILED]: [HttpStatus.BAD_REQUEST, 'The request is invalid'],
  [ProblemCode.MALFORMED_REQUEST]: [HttpStatus.BAD_REQUEST, 'The request is malformed'],
  [ProblemCode.FORBIDDEN_KEY]: [HttpStatus.BAD_REQUEST, 'The body uses a forbidden key'],
  [ProblemCode.UNAUTHORIZED]: [HttpStatus.UNAUTHORIZED, 'Authentication required'],
  [ProblemCode.FORBIDDEN]: [HttpStatus.FORBIDDEN, 'Not allowed'],
  [ProblemCode.NOT_FOUND]: [HttpStatus.NOT_FOUND, 'Not found'],
  [ProblemCode.ORDER_NOT_FOUND]: [HttpStatus.NOT_FOUND, 'Order not found'],
  [ProblemCode.IDEMPOTENCY_CONFLICT]: [HttpStatus.CONFLICT, 'Idempotency key reused with a different request'],
  [ProblemCode.ORDER_NOT_CANCELLABLE]: [HttpStatus.CONFLICT, 'The order can no longer be cancelled'],
  [ProblemCode.PAYLOAD_TOO_LARGE]: [HttpStatus.PAYLOAD_TOO_LARGE, 'Request body too large'],
  [ProblemCode.UNSUPPORTED_MEDIA_TYPE]: [HttpStatus.UNSUPPORTED_MEDIA_TYPE, 'Unsupported media type'],
  [ProblemCode.METHOD_NOT_ALLOWED]: [HttpStatus.METHOD_NOT_ALLOWED, 'Method not allowed'],
  [ProblemCode.RATE_LIMITED]: [HttpStatus.TOO_MANY_REQUESTS, 'Too many requests'],
  [ProblemCode.DATABASE_UNAVAILABLE]: [HttpStatus.SERVICE_UNAVAILABLE, 'The database is unavailable'],
  [ProblemCode.SERVICE_UNAVAILABLE]: [HttpStatus.SERVICE_UNAVAILABLE, 'The service is unavailable'],
  [ProblemCode.INTERNAL_ERROR]: [HttpStatus.INTERNAL_SERVER_ERROR, 'Internal error'],
};

export function problem(code: ProblemCode, detail?: string, extra: Partial<ProblemDetails> = {}): ProblemDetails {
  const [status, title] = TITLES[code];
  return {
    type: `https://order-flow.dev/problems/${code.toLowerCase().replace(/_/g, '-')}`,
    title,
    status,
    code,
    ...(detail ? { detail } : {}),
    ...extra,
  };
}

/** An error that already knows its problem details; thrown by controllers and guards. */
export class ProblemException extends Error {
  constructor(
    readonly code: ProblemCode,
    detail?: string,
    readonly extra: Partial<ProblemDetails> = {},
  ) {
    super(detail ?? TITLES[code][1]);
  }
  get status(): number {
    return TITLES[this.code][0];
  }
  toProblem(): ProblemDetails {
    return problem(this.code, this.message, this.extra);
  }
}

/**
 * The exception class of a module with its own error codes: `problemCodes` maps each of them to the
 * API's problem code (a record over the enum, so the compiler insists on every code).
 */
export function moduleProblemException<TCode extends string>(problemCodes: Record<TCode, ProblemCode>) {
  return class extends ProblemException {
    constructor(
      readonly errorCode: TCode,
      detail: string,
    ) {
      super(problemCodes[errorCode], detail);
    }
  };
}
