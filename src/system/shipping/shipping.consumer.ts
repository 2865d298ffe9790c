import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext, Payload } from '@nestjs/microservices';
import { CONSUMER_GROUPS } from '../../platform/messaging/consumer-groups.js';
import { batching, MessageProcessorService } from '../../platform/messaging/message-processor.service.js';
import { topicName } from '../../platform/messaging/topic-name.js';
import { ShippingService, type ShippingMessage } from './shipping.service.js';

/** `shipping-updates` carries the saga's requests and cancellations, and this module's own status events. */
const ACCEPTS = ['ShipmentRequested', 'CancelShipment', 'ShipmentStatusChanged'] as const;
/** Our own events read back from the shared topic: validated, then skipped without a transaction. */
const IGNORES = ['ShipmentStatusChanged'] as const;

/** Kafka adapter of the shipping system: inbox, validation and commit are the processor's job. */
@Controller()
export class ShippingConsumer {
  constructor(
    private readonly processor: MessageProcessorService,
    private readonly shipping: ShippingService,
  ) {}

  @EventPattern<string>(topicName('shippingUpdates'), CONSUMER_GROUPS.shipping)
  handle(@Payload() _data: unknown, @Ctx() ctx: KafkaContext): Promise<void> {
    // The processor never hands an ignored type to the handler, and its types say so.
    return this.processor.process('shipping', ctx, ACCEPTS, this.handler, IGNORES);
  }

  private readonly handler = batching<ShippingMessage['eventType']>((ms, tx) => this.shipping.handleMany(ms, tx));
}
