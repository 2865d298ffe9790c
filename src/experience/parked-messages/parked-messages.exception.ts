import { ProblemCode, ProblemException } from '../../platform/http/problem.js';
import { assertUnreachable } from '../../common/assert-unreachable.js';

export enum ParkedMessagesErrorCode {
  INVALID_ID = 'INVALID_ID',
  NOT_PARKED = 'NOT_PARKED',
}

/** The parked-message routes' errors; `problemCode` maps each to its HTTP answer in one exhaustive switch. */
export class ParkedMessagesException extends ProblemException {
  constructor(
    readonly parkedCode: ParkedMessagesErrorCode,
    detail: string,
  ) {
    super(ParkedMessagesException.problemCode(parkedCode), detail);
  }

  static problemCode(code: ParkedMessagesErrorCode): ProblemCode {
    switch (code) {
      case ParkedMessagesErrorCode.INVALID_ID:
        return ProblemCode.VALIDATION_FAILED;
      case ParkedMessagesErrorCode.NOT_PARKED:
        return ProblemCode.NOT_FOUND;
      default:
        return assertUnreachable(code, 'parked messages error code');
    }
  }
}
