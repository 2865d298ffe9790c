import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext, Payload } from '@nestjs/microservices';
import { CONSUMER_GROUPS } from '../../platform/messaging/consumer-groups.js';
import { batching, MessageProcessorService } from '../../platform/messaging/message-processor.service.js';
import { topicName } from '../../platform/messaging/topic-name.js';
import { InventoryService, type InventoryCommand } from './inventory.service.js';

/** Kafka adapter of the inventory system: inbox, validation and commit are the processor's job. */
@Controller()
export class InventoryConsumer {
  constructor(
    private readonly processor: MessageProcessorService,
    private readonly inventory: InventoryService,
  ) {}

  @EventPattern<string>(topicName('inventoryRequests'), CONSUMER_GROUPS.inventory)
  handle(@Payload() _data: unknown, @Ctx() ctx: KafkaContext): Promise<void> {
    return this.processor.process('inventory', ctx, ['ReserveStock', 'ReleaseStock', 'CommitStock'] as const, this.handler);
  }

  private readonly handler = batching<InventoryCommand['eventType']>((ms, tx) => this.inventory.handleMany(ms, tx));
}
