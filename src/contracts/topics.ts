import type { TopicKey } from '../config/kafka.config.js';
import type { EventType } from './messages.js';

/** Which topic carries which message types (docs/architecture.md §5); the key is always the orderId. */
export const TOPIC_OF: { [K in EventType]: TopicKey } = {
  OrderCreated: 'ordersIn',
  OrderCancellationRequested: 'ordersIn',
  OrderValidated: 'ordersValidated',
  OrderStatusChanged: 'orderStatus',
  ReserveStock: 'inventoryRequests',
  ReleaseStock: 'inventoryRequests',
  CommitStock: 'inventoryRequests',
  StockReservationConfirmed: 'inventoryReplies',
  StockReservationRejected: 'inventoryReplies',
  StockReleaseConfirmed: 'inventoryReplies',
  StockReserved: 'inventoryUpdates',
  StockReleased: 'inventoryUpdates',
  StockCommitted: 'inventoryUpdates',
  ChargePayment: 'paymentRequests',
  RefundPayment: 'paymentRequests',
  PaymentCharged: 'paymentReplies',
  PaymentRejected: 'paymentReplies',
  PaymentRefunded: 'paymentReplies',
  ShipmentRequested: 'shippingUpdates',
  CancelShipment: 'shippingUpdates',
  ShipmentStatusChanged: 'shippingUpdates',
  ShipmentCreated: 'shippingReplies',
  ShipmentRejected: 'shippingReplies',
  ShipmentCancelled: 'shippingReplies',
};
