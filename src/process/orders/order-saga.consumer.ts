import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext, Payload } from '@nestjs/microservices';
import { CONSUMER_GROUPS, type ConsumerGroupName } from '../../platform/messaging/consumer-groups.js';
import { batching, MessageProcessorService } from '../../platform/messaging/message-processor.service.js';
import { topicName } from '../../platform/messaging/topic-name.js';
import { OrderSagaService, type SagaMessage } from './order-saga.service.js';

/**
 * The process layer's Kafka entry points: the validation flow (orders-in, inventory and payment
 * replies) and the fulfilment flow (orders-validated, shipping). New orders are read by the group
 * `…-intake`, everything after by `…-process` (see CONSUMER_GROUPS.intake). Each maps the transport
 * to one saga call; the processor handles inbox, DLQ and offsets.
 */
@Controller()
export class OrderSagaConsumer {
  constructor(
    private readonly processor: MessageProcessorService,
    private readonly saga: OrderSagaService,
  ) {}

  private readonly handler = batching<SagaMessage['eventType']>((ms, tx) => this.saga.handleMany(ms as SagaMessage[], tx));

  private run(group: ConsumerGroupName, ctx: KafkaContext, accepts: readonly SagaMessage['eventType'][], ignores: readonly SagaMessage['eventType'][] = []): Promise<void> {
    return this.processor.process(group, ctx, accepts, this.handler, ignores);
  }

  @EventPattern<string>(topicName('ordersIn'), CONSUMER_GROUPS.intake)
  ordersIn(@Payload() _: unknown, @Ctx() ctx: KafkaContext) {
    return this.run('intake', ctx, ['OrderCreated']);
  }

  @EventPattern<string>(topicName('inventoryReplies'), CONSUMER_GROUPS.process)
  inventoryReplies(@Payload() _: unknown, @Ctx() ctx: KafkaContext) {
    return this.run('process', ctx, ['StockReservationConfirmed', 'StockReservationRejected', 'StockReleaseConfirmed']);
  }

  @EventPattern<string>(topicName('paymentReplies'), CONSUMER_GROUPS.process)
  paymentReplies(@Payload() _: unknown, @Ctx() ctx: KafkaContext) {
    return this.run('process', ctx, ['PaymentCharged', 'PaymentRejected', 'PaymentRefunded']);
  }

  @EventPattern<string>(topicName('ordersValidated'), CONSUMER_GROUPS.process)
  ordersValidated(@Payload() _: unknown, @Ctx() ctx: KafkaContext) {
    return this.run('process', ctx, ['OrderValidated']);
  }

  @EventPattern<string>(topicName('shippingReplies'), CONSUMER_GROUPS.process)
  shippingReplies(@Payload() _: unknown, @Ctx() ctx: KafkaContext) {
    return this.run('process', ctx, ['ShipmentCreated', 'ShipmentRejected', 'ShipmentCancelled']);
  }

  @EventPattern<string>(topicName('shippingUpdates'), CONSUMER_GROUPS.process)
  shippingUpdates(@Payload() _: unknown, @Ctx() ctx: KafkaContext) {
    // ShipmentRequested and CancelShipment are the saga's own commands to the shipping system, on the same topic.
    return this.run('process', ctx, ['ShipmentStatusChanged', 'ShipmentRequested', 'CancelShipment'], ['ShipmentRequested', 'CancelShipment']);
  }
}
