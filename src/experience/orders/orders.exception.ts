import { ProblemCode, ProblemException } from '../../platform/http/problem.js';
import { assertUnreachable } from '../../common/assert-unreachable.js';

export enum OrdersErrorCode {
  ORDER_NOT_FOUND = 'ORDER_NOT_FOUND',
  IDEMPOTENCY_CONFLICT = 'IDEMPOTENCY_CONFLICT',
  INVALID_ORDER_ID = 'INVALID_ORDER_ID',
  INVALID_IDEMPOTENCY_KEY = 'INVALID_IDEMPOTENCY_KEY',
}

/** The orders API's errors; `toProblem` maps each code to its HTTP answer in one exhaustive switch. */
export class OrdersException extends ProblemException {
  constructor(
    readonly ordersCode: OrdersErrorCode,
    detail: string,
  ) {
    super(OrdersException.problemCode(ordersCode), detail);
  }

  static problemCode(code: OrdersErrorCode): ProblemCode {
    switch (code) {
      case OrdersErrorCode.ORDER_NOT_FOUND:
        return ProblemCode.ORDER_NOT_FOUND;
      case OrdersErrorCode.IDEMPOTENCY_CONFLICT:
        return ProblemCode.IDEMPOTENCY_CONFLICT;
      case OrdersErrorCode.INVALID_ORDER_ID:
      case OrdersErrorCode.INVALID_IDEMPOTENCY_KEY:
        return ProblemCode.VALIDATION_FAILED;
      default:
        return assertUnreachable(code, 'orders error code');
    }
  }
}
