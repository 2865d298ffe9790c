import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsUUID } from 'class-validator';
import { ORDER_STATUSES, type OrderStatus } from '../../../contracts/order-status.js';

export const COMPENSATION_STEPS = ['release', 'refund', 'cancelShipment'] as const;

/** A compensation that ran out of attempts and waits for an operator. */
export class StuckStepDto {
  @ApiProperty({ format: 'uuid' }) orderId: string;
  @ApiProperty({ enum: COMPENSATION_STEPS, description: 'release: stock reservation; refund: the charge; cancelShipment: the shipment' }) step: string;
  @ApiProperty({ enum: ORDER_STATUSES }) orderStatus: OrderStatus;
  @ApiProperty({ example: 8, description: 'Attempts made' }) attempts: number;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'When the last attempt was sent' }) lastAttemptAt: string | null;
  @ApiProperty({ format: 'date-time', description: 'When the step was set aside' }) stuckSince: string;
  @ApiProperty() correlationId: string;
}

export class StuckStepListDto {
  @ApiProperty({ description: 'How many compensations are set aside' }) count: number;
  @ApiProperty({ type: [StuckStepDto], description: 'The oldest first, at most 500' }) items: StuckStepDto[];
}

/** A compensation sent again: it waits for its answer, with a fresh set of attempts. */
export class StuckStepRetriedDto {
  @ApiProperty({ format: 'uuid' }) orderId: string;
  @ApiProperty({ enum: COMPENSATION_STEPS }) step: string;
  @ApiProperty({ enum: ['WAITING'] }) state: 'WAITING';
}

export class StuckStepParamsDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', { message: 'orderId must be a UUID' })
  orderId: string;

  @ApiProperty({ enum: COMPENSATION_STEPS })
  @IsIn(COMPENSATION_STEPS, { message: `step must be one of ${COMPENSATION_STEPS.join(', ')}` })
  step: string;
}
