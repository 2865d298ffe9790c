import type { Payloads } from '../../contracts/messages.js';
import { assertUnreachable } from '../shared/assert-unreachable.js';

export enum ShippingErrorCode {
  CARRIER_REJECTED = 'CARRIER_REJECTED',
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
      default:
        return assertUnreachable(code, 'shipping error code');
    }
  }
}
