import { rejectionException } from '../common/rejection.exception.js';

export enum PaymentErrorCode {
  DECLINED = 'DECLINED',
  /** The simulated payment provider did not answer this time: worth a retry. */
  UNAVAILABLE = 'UNAVAILABLE',
  /** The order was refunded already (the saga gave up on it), even if nothing was charged: a late charge must not take effect. */
  ALREADY_REFUNDED = 'ALREADY_REFUNDED',
}

/** Why a charge is refused, each code with the PaymentRejected reply the saga reads. */
export class PaymentException extends rejectionException<PaymentErrorCode>('PaymentException', {
  [PaymentErrorCode.DECLINED]: { reason: 'PAYMENT_DECLINED', transient: false },
  [PaymentErrorCode.UNAVAILABLE]: { reason: 'PAYMENT_UNAVAILABLE', transient: true },
  [PaymentErrorCode.ALREADY_REFUNDED]: { reason: 'ORDER_COMPENSATED', transient: false },
}) {}
