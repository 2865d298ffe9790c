import { Injectable } from '@nestjs/common';
import { MessageConsumer, messageHandler } from '../../platform/messaging/message-handlers.js';
import { InventoryService } from './inventory.service.js';

/** Kafka adapter of the inventory system: inbox, validation and commit are the processor's job. */
@MessageConsumer()
@Injectable()
export class InventoryConsumer implements MessageConsumer {
  constructor(private readonly inventory: InventoryService) {}

  readonly handlers = [
    messageHandler({
      group: 'inventory',
      topic: 'inventoryRequests',
      accepts: ['ReserveStock', 'ReleaseStock', 'CommitStock'],
      handleBatch: (messages, tx) => this.inventory.handleMany(messages, tx),
    }),
  ];
}
