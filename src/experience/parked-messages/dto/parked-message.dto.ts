import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

export const DEFAULT_PARKED_LIMIT = 100;
export const MAX_PARKED_LIMIT = 1000;

export class ParkedMessageQueryDto {
  @ApiPropertyOptional({
    minimum: 1,
    maximum: MAX_PARKED_LIMIT,
    default: DEFAULT_PARKED_LIMIT,
    description: 'At most this many messages, in outbox order (`count` says how many are parked)',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PARKED_LIMIT)
  limit?: number;
}

export class ParkedMessageDto {
  @ApiProperty({ description: 'The outbox row id (a string: it is a 64-bit integer); names it for a release', example: '4711' }) id: string;
  @ApiProperty({ example: 'order-status' }) topic: string;
  @ApiProperty({ format: 'uuid', description: 'The message key: the order it belongs to', example: '6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2c' }) orderId: string;
  @ApiProperty({ example: 'OrderStatusChanged' }) eventType: string;
  @ApiProperty({ format: 'uuid', example: '0b7e4c2a-5d1f-4e8a-9c3b-2a6d8f0e1c4b' }) eventId: string;
  @ApiProperty({ format: 'date-time', description: 'When the message was staged', example: '2026-12-01T13:05:09.120Z' }) createdAt: string;
  @ApiProperty({ format: 'date-time', description: 'When the relay set it aside', example: '2026-12-01T13:05:09.480Z' }) parkedAt: string;
  @ApiProperty({
    nullable: true,
    type: String,
    description: "The broker's answer",
    example: 'MESSAGE_TOO_LARGE: The request included a message larger than the max message size the server will accept',
  })
  lastError: string | null;
  @ApiProperty({ description: 'Failed publish attempts recorded for it', example: 1 }) attempts: number;
}

export class ParkedMessageListResponseDto {
  @ApiProperty({ description: 'How many messages are parked; `items` holds the first `limit` of them', example: 1 }) count: number;
  @ApiProperty({ type: [ParkedMessageDto], description: 'In outbox order (oldest first)' }) items: ParkedMessageDto[];
}
