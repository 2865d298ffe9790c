import { moduleProblemException, ProblemCode } from '../../platform/http/problem.js';

export enum OrdersErrorCode {
  ORDER_NOT_FOUND = 'ORDER_NOT_FOUND',
  IDEMPOTENCY_CONFLICT = 'IDEMPOTENCY_CONFLICT',
  INVALID_ORDER_ID = 'INVALID_ORDER_ID',
  INVALID_IDEMPOTENCY_KEY = 'INVALID_IDEMPOTENCY_KEY',
  ORDER_NOT_CANCELLABLE = 'ORDER_NOT_CANCELLABLE',
}

/** The orders API's errors, each code with its HTTP answer. */
export class OrdersException extends moduleProblemException<OrdersErrorCode>({
  [OrdersErrorCode.ORDER_NOT_FOUND]: ProblemCode.ORDER_NOT_FOUND,
  [OrdersErrorCode.IDEMPOTENCY_CONFLICT]: ProblemCode.IDEMPOTENCY_CONFLICT,
  [OrdersErrorCode.INVALID_ORDER_ID]: ProblemCode.VALIDATION_FAILED,
  [OrdersErrorCode.INVALID_IDEMPOTENCY_KEY]: ProblemCode.VALIDATION_FAILED,
  [OrdersErrorCode.ORDER_NOT_CANCELLABLE]: ProblemCode.ORDER_NOT_CANCELLABLE,
}) {}
