import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { MessageConsumer, messageHandler } from '../../platform/messaging/message-handlers.js';
import { OrderSagaService, type SagaMessage } from './order-saga.service.js';

/**
 * The process layer's Kafka entry points: the validation flow (orders-in, inventory and payment
 * replies) and the fulfilment flow (orders-validated, shipping). New orders are read by the group
 * `intake`, everything after by `process` (see CONSUMER_GROUP_NAMES). Each hands its messages to the
 * saga; the processor handles inbox, DLQ and offsets.
 */
@MessageConsumer()
@Injectable()
export class OrderSagaConsumer implements MessageConsumer {
  constructor(private readonly saga: OrderSagaService) {}

  private readonly handleBatch = (messages: SagaMessage[], tx: EntityManager) => this.saga.handleMany(messages, tx);

  readonly handlers = [
    // A cancellation shares its order's partition with OrderCreated, so it never overtakes it.
    messageHandler({ group: 'intake', topic: 'ordersIn', accepts: ['OrderCreated', 'OrderCancellationRequested'], handleBatch: this.handleBatch }),
    messageHandler({
      group: 'process',
      topic: 'inventoryReplies',
      accepts: ['StockReservationConfirmed', 'StockReservationRejected', 'StockReleaseConfirmed'],
      handleBatch: this.handleBatch,
    }),
    messageHandler({ group: 'process', topic: 'paymentReplies', accepts: ['PaymentCharged', 'PaymentRejected', 'PaymentRefunded'], handleBatch: this.handleBatch }),
    messageHandler({ group: 'process', topic: 'ordersValidated', accepts: ['OrderValidated'], handleBatch: this.handleBatch }),
    messageHandler({ group: 'process', topic: 'shippingReplies', accepts: ['ShipmentCreated', 'ShipmentRejected', 'ShipmentCancelled'], handleBatch: this.handleBatch }),
    messageHandler({
      group: 'process',
      topic: 'shippingUpdates',
      accepts: ['ShipmentStatusChanged', 'ShipmentRequested', 'CancelShipment'],
      // The saga's own commands to the shipping system, on the same topic.
      ignores: ['ShipmentRequested', 'CancelShipment'],
      handleBatch: this.handleBatch,
    }),
  ];
}
