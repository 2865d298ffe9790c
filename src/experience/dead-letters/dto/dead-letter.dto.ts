import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsBoolean, IsInt, IsISO8601, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { DEAD_LETTER_REASONS, type DeadLetterReason } from '../../../contracts/dead-letter.js';
import { DEAD_LETTER_ID } from '../../../platform/messaging/dead-letters.js';

const GROUP = /^[A-Za-z0-9._-]{1,249}$/;

export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1000;

/** Which dead letters: all of them, or those one consumer group gave up on, since a time. */
export class DeadLetterFilterDto {
  @ApiPropertyOptional({ description: 'Only those this consumer group gave up on', example: 'order-flow-intake' })
  @IsOptional()
  @IsString()
  @Matches(GROUP, { message: 'group must be a Kafka consumer group name' })
  group?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Only those that failed at or after this time', example: '2026-12-01T00:00:00Z' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'since must be an ISO 8601 date-time' })
  since?: string;
}

/** A listing: the filter, and how many letters at most (each carries its whole message). */
export class DeadLetterQueryDto extends DeadLetterFilterDto {
  @ApiPropertyOptional({ minimum: 1, maximum: MAX_LIST_LIMIT, default: DEFAULT_LIST_LIMIT, description: 'At most this many letters, in DLQ order (`count` says how many match)' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_LIST_LIMIT)
  limit?: number;
}

/** A replay names its letters, or takes all of them (optionally only one group's, since a time). */
export class ReplayDeadLettersRequestDto extends DeadLetterFilterDto {
  @ApiPropertyOptional({ type: [String], description: 'The letters to replay (`partition@offset` in the DLQ, as listed)', example: ['1@42'], maxItems: 500 })
  @IsOptional()
  @ArrayMinSize(1)
  @ArrayMaxSize(500)
  @IsString({ each: true })
  @Matches(DEAD_LETTER_ID, { each: true, message: 'each id must be partition@offset, as listed' })
  ids?: string[];

  @ApiPropertyOptional({ description: 'Replay every letter (that matches group and since) instead of naming them', example: false })
  @IsOptional()
  @IsBoolean()
  all?: boolean;
}

export class DeadLetterDto {
  @ApiProperty({ description: 'Its place in the DLQ topic, `partition@offset`: names it for a replay', example: '1@42' }) id: string;
  @ApiProperty({ format: 'date-time', example: '2026-12-01T13:05:09.120Z' }) failedAt: string;
  @ApiProperty({ description: 'The consumer group that gave up', example: 'order-flow-intake' }) consumerGroup: string;
  @ApiProperty({ example: 'orders-in' }) originTopic: string;
  @ApiProperty({ example: 1 }) partition: number;
  @ApiProperty({ description: 'Offset in the origin topic (a string: Kafka offsets are 64-bit)', example: '1017' }) offset: string;
  @ApiPropertyOptional({ description: 'The message type, from its headers', example: 'OrderCreated' }) eventType?: string;
  @ApiProperty({ nullable: true, type: String, description: 'The original message key (the order id)', example: '6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2c' }) key: string | null;
  @ApiProperty({ example: 1 }) attempts: number;
  @ApiPropertyOptional({ enum: DEAD_LETTER_REASONS, description: 'Why the group gave up (absent in letters written before reasons were recorded)', example: 'PROCESSING_FAILED' })
  reason?: DeadLetterReason;
  @ApiProperty({ example: 'no order 6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2c' }) error: string;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' }, description: 'The original message headers' }) headers: Record<string, string>;
  @ApiProperty({ nullable: true, type: String, description: 'The original message value, as sent (JSON text)' }) value: string | null;
}

export class DeadLetterListResponseDto {
  @ApiProperty({ description: 'How many letters match the filter; `items` holds the first `limit` of them', example: 1 }) count: number;
  @ApiProperty({ type: [DeadLetterDto], description: 'In DLQ order (partition, then offset)' }) items: DeadLetterDto[];
}

export class ReplayDeadLettersResponseDto {
  @ApiProperty({ type: [String], description: 'Published again to their origin topics, in this order', example: ['1@42'] }) replayed: string[];
  @ApiProperty({ type: [String], description: 'Left out: letters without a value (a tombstone) have nothing to replay', example: [] }) skipped: string[];
}
