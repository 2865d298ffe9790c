import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext, Payload } from '@nestjs/microservices';
import { CONSUMER_GROUPS } from '../../platform/messaging/consumer-groups.js';
import { batching, MessageProcessorService } from '../../platform/messaging/message-processor.service.js';
import { topicName } from '../../platform/messaging/topic-name.js';
import { PaymentService, type PaymentCommand } from './payment.service.js';

/** Kafka adapter of the payment system: inbox, validation and commit are the processor's job. */
@Controller()
export class PaymentConsumer {
  constructor(
    private readonly processor: MessageProcessorService,
    private readonly payments: PaymentService,
  ) {}

  @EventPattern<string>(topicName('paymentRequests'), CONSUMER_GROUPS.payment)
  handle(@Payload() _data: unknown, @Ctx() ctx: KafkaContext): Promise<void> {
    return this.processor.process('payment', ctx, ['ChargePayment', 'RefundPayment'] as const, this.handler);
  }

  private readonly handler = batching<PaymentCommand['eventType']>((ms, tx) => this.payments.handleMany(ms, tx));
}
