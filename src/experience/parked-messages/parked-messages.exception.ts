import { moduleProblemException, ProblemCode } from '../../platform/http/problem.js';

export enum ParkedMessagesErrorCode {
  INVALID_ID = 'INVALID_ID',
  NOT_PARKED = 'NOT_PARKED',
}

/** The parked-message routes' errors, each code with its HTTP answer. */
export class ParkedMessagesException extends moduleProblemException<ParkedMessagesErrorCode>({
  [ParkedMessagesErrorCode.INVALID_ID]: ProblemCode.VALIDATION_FAILED,
  [ParkedMessagesErrorCode.NOT_PARKED]: ProblemCode.NOT_FOUND,
}) {}
