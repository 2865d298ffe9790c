import { rejectionException } from '../common/rejection.exception.js';

export enum InventoryErrorCode {
  UNKNOWN_PRODUCT = 'UNKNOWN_PRODUCT',
  OUT_OF_STOCK = 'OUT_OF_STOCK',
  /** The simulated stock system did not answer this time: worth a retry. */
  UNAVAILABLE = 'UNAVAILABLE',
  /** The order was released already (the saga gave up on it): a late reservation must not take effect. */
  ORDER_CLOSED = 'ORDER_CLOSED',
}

/** Why a reservation is refused, each code with the StockReservationRejected reply the saga reads. */
export class InventoryException extends rejectionException<InventoryErrorCode>('InventoryException', {
  [InventoryErrorCode.UNKNOWN_PRODUCT]: { reason: 'UNKNOWN_PRODUCT', transient: false },
  [InventoryErrorCode.OUT_OF_STOCK]: { reason: 'OUT_OF_STOCK', transient: false },
  [InventoryErrorCode.UNAVAILABLE]: { reason: 'INVENTORY_UNAVAILABLE', transient: true },
  [InventoryErrorCode.ORDER_CLOSED]: { reason: 'ORDER_COMPENSATED', transient: false },
}) {}
