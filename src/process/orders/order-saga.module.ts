import { Module } from '@nestjs/common';

/** Process layer: the order saga through inventory, payment and shipping. */
@Module({})
export class OrderSagaModule {}
