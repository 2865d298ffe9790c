import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext, Payload } from '@nestjs/microservices';
import { CONSUMER_GROUPS } from '../../platform/messaging/consumer-groups.js';
import { MessageProcessorService, type BatchingHandler } from '../../platform/messaging/message-processor.service.js';
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

  /** One object for every message: the processor hands a batch to `many` when its messages share it. */
  private readonly handler: BatchingHandler<InventoryCommand['eventType']> = {
    one: (m, tx) => this.inventory.handle(m, tx),
    many: (ms, tx) => this.inventory.handleMany(ms, tx),
  };
}
