import { ProblemCode, ProblemException } from '../../platform/http/problem.js';
import { assertUnreachable } from '../../common/assert-unreachable.js';

export enum DeadLettersErrorCode {
  INVALID_REQUEST = 'INVALID_REQUEST',
  NOT_FOUND = 'NOT_FOUND',
  KAFKA_UNAVAILABLE = 'KAFKA_UNAVAILABLE',
}

/** The operator routes' errors; `problemCode` maps each to its HTTP answer in one exhaustive switch. */
export class DeadLettersException extends ProblemException {
  constructor(
    readonly deadLettersCode: DeadLettersErrorCode,
    detail: string,
  ) {
    super(DeadLettersException.problemCode(deadLettersCode), detail);
  }

  static problemCode(code: DeadLettersErrorCode): ProblemCode {
    switch (code) {
      case DeadLettersErrorCode.INVALID_REQUEST:
        return ProblemCode.VALIDATION_FAILED;
      case DeadLettersErrorCode.NOT_FOUND:
        return ProblemCode.NOT_FOUND;
      case DeadLettersErrorCode.KAFKA_UNAVAILABLE:
        return ProblemCode.SERVICE_UNAVAILABLE;
      default:
        return assertUnreachable(code, 'dead letters error code');
    }
  }
}
