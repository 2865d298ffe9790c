import { Injectable } from '@nestjs/common';
import { MessageConsumer, messageHandler } from '../../platform/messaging/message-handlers.js';
import { PaymentService } from './payment.service.js';

/** Kafka adapter of the payment system: inbox, validation and commit are the processor's job. */
@MessageConsumer()
@Injectable()
export class PaymentConsumer implements MessageConsumer {
  constructor(private readonly payments: PaymentService) {}

  readonly handlers = [
    messageHandler({
      group: 'payment',
      topic: 'paymentRequests',
      accepts: ['ChargePayment', 'RefundPayment'],
      handleBatch: (messages, tx) => this.payments.handleMany(messages, tx),
    }),
  ];
}
