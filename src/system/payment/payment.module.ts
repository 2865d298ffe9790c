import { Module } from '@nestjs/common';

/** System layer: the payment system (charges and refunds). */
@Module({})
export class PaymentModule {}
