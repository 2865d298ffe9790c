import type { Payloads } from '../../contracts/messages.js';
import { assertUnreachable } from '../../common/assert-unreachable.js';

export enum InventoryErrorCode {
  UNKNOWN_PRODUCT = 'UNKNOWN_PRODUCT',
  OUT_OF_STOCK = 'OUT_OF_STOCK',
  /** The simulated stock system did not answer this time: worth a retry. */
  UNAVAILABLE = 'UNAVAILABLE',
  /** The order was released already (the saga gave up on it): a late reservation must not take effect. */
  ORDER_CLOSED = 'ORDER_CLOSED',
}

/** Why a reservation is refused; `toRejection` maps each code to the reply the saga reads. */
export class InventoryException extends Error {
  override name = 'InventoryException';

  constructor(
    readonly code: InventoryErrorCode,
    readonly detail: string,
  ) {
    super(`${code}: ${detail}`);
  }

  toRejection(): Payloads['StockReservationRejected'] {
    const code = this.code;
    switch (code) {
      case InventoryErrorCode.UNKNOWN_PRODUCT:
        return { reason: 'UNKNOWN_PRODUCT', transient: false, detail: this.detail };
      case InventoryErrorCode.OUT_OF_STOCK:
        return { reason: 'OUT_OF_STOCK', transient: false, detail: this.detail };
      case InventoryErrorCode.UNAVAILABLE:
        return { reason: 'INVENTORY_UNAVAILABLE', transient: true, detail: this.detail };
      case InventoryErrorCode.ORDER_CLOSED:
        return { reason: 'ORDER_COMPENSATED', transient: false, detail: this.detail };
      default:
        return assertUnreachable(code, 'inventory error code');
    }
  }
}
