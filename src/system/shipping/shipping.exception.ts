import { rejectionException } from '../common/rejection.exception.js';

export enum ShippingErrorCode {
  CARRIER_REJECTED = 'CARRIER_REJECTED',
  /** The order's shipment was cancelled already (the saga gave up on it): a late request must not ship. */
  ORDER_CLOSED = 'ORDER_CLOSED',
}

/** Why a shipment is refused, each code with the ShipmentRejected reply the saga reads. */
export class ShippingException extends rejectionException<ShippingErrorCode>('ShippingException', {
  [ShippingErrorCode.CARRIER_REJECTED]: { reason: 'CARRIER_REJECTED', transient: false },
  [ShippingErrorCode.ORDER_CLOSED]: { reason: 'ORDER_COMPENSATED', transient: false },
}) {}
