import type { Payloads } from '../../contracts/messages.js';
import { assertUnreachable } from '../../common/assert-unreachable.js';

export enum PaymentErrorCode {
  DECLINED = 'DECLINED',
  /** The simulated payment provider did not answer this time: worth a retry. */
  UNAVAILABLE = 'UNAVAILABLE',
  /** The order was refunded already (the saga gave up on it), even if nothing was charged: a late charge must not take effect. */
  ALREADY_REFUNDED = 'ALREADY_REFUNDED',
}

/** Why a charge is refused; `toRejection` maps each code to the reply the saga reads. */
export class PaymentException extends Error {
  override name = 'PaymentException';

  constructor(
    readonly code: PaymentErrorCode,
    readonly detail: string,
  ) {
    super(`${code}: ${detail}`);
  }

  toRejection(): Payloads['PaymentRejected'] {
    const code = this.code;
    switch (code) {
      case PaymentErrorCode.DECLINED:
        return { reason: 'PAYMENT_DECLINED', transient: false, detail: this.detail };
      case PaymentErrorCode.UNAVAILABLE:
        return { reason: 'PAYMENT_UNAVAILABLE', transient: true, detail: this.detail };
      case PaymentErrorCode.ALREADY_REFUNDED:
        return { reason: 'ORDER_COMPENSATED', transient: false, detail: this.detail };
      default:
        return assertUnreachable(code, 'payment error code');
    }
  }
}
