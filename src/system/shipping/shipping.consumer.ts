import { Injectable } from '@nestjs/common';
import { MessageConsumer, messageHandler } from '../../platform/messaging/message-handlers.js';
import { ShippingService } from './shipping.service.js';

/** Kafka adapter of the shipping system: inbox, validation and commit are the processor's job. */
@MessageConsumer()
@Injectable()
export class ShippingConsumer implements MessageConsumer {
  constructor(private readonly shipping: ShippingService) {}

  readonly handlers = [
    messageHandler({
      group: 'shipping',
      topic: 'shippingUpdates',
      // `shipping-updates` carries the saga's requests and cancellations, and this module's own status events.
      accepts: ['ShipmentRequested', 'CancelShipment', 'ShipmentStatusChanged'],
      // Our own events read back from the shared topic: validated, then skipped without a transaction.
      ignores: ['ShipmentStatusChanged'],
      handleBatch: (messages, tx) => this.shipping.handleMany(messages, tx),
    }),
  ];
}
