import { moduleProblemException, ProblemCode } from '../../platform/http/problem.js';

export enum DeadLettersErrorCode {
  INVALID_REQUEST = 'INVALID_REQUEST',
  NOT_FOUND = 'NOT_FOUND',
  KAFKA_UNAVAILABLE = 'KAFKA_UNAVAILABLE',
}

/** The operator routes' errors, each code with its HTTP answer. */
export class DeadLettersException extends moduleProblemException<DeadLettersErrorCode>({
  [DeadLettersErrorCode.INVALID_REQUEST]: ProblemCode.VALIDATION_FAILED,
  [DeadLettersErrorCode.NOT_FOUND]: ProblemCode.NOT_FOUND,
  [DeadLettersErrorCode.KAFKA_UNAVAILABLE]: ProblemCode.SERVICE_UNAVAILABLE,
}) {}
