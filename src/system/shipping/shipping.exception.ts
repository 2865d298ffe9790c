import type { Payloads } from '../../contracts/messages.js';
import { assertUnreachable } from '../../common/assert-unreachable.js';

export enum ShippingErrorCode {
  CARRIER_REJECTED = 'CARRIER_REJECTED',
  /** The order's shipment was cancelled already (the saga gave up on it): a late request must not ship. */
  ORDER_CLOSED = 'ORDER_CLOSED',
}

/** Why a shipment is refused; `toRejection` maps each code to the reply the saga reads. */
export class ShippingException extends Error {
  override name = 'ShippingException';

  constructor(
    readonly code: ShippingErrorCode,
    readonly detail: string,
  ) {
    super(`${code}: ${detail}`);
  }

  toRejection(): Payloads['ShipmentRejected'] {
    const code = this.code;
    switch (code) {
      case ShippingErrorCode.CARRIER_REJECTED:
        return { reason: 'CARRIER_REJECTED', transient: false, detail: this.detail };
      case ShippingErrorCode.ORDER_CLOSED:
        return { reason: 'ORDER_COMPENSATED', transient: false, detail: this.detail };
      default:
        return assertUnreachable(code, 'shipping error code');
    }
  }
}
