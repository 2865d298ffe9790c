import { Module } from '@nestjs/common';

/** System layer: the shipping system (shipments, carriers, tracking, delivery). */
@Module({})
export class ShippingModule {}
