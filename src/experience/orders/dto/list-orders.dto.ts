import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Length, Max, Min, ValidateBy, type ValidationOptions } from 'class-validator';
import { FAILURE_REASONS, ORDER_STATUSES, type OrderStatus } from '../../../contracts/order-status.js';
import { parseRfc3339 } from '../rfc3339.js';

export const DEFAULT_LIST_LIMIT = 50;
export const MAX_LIST_LIMIT = 200;

/** An RFC 3339 date-time with an offset, naming a real instant. */
function IsRfc3339DateTime(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isRfc3339DateTime',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && parseRfc3339(value) !== null,
        defaultMessage: (args) => `${args?.property} must be an RFC 3339 date-time with an offset, e.g. 2026-12-01T00:00:00Z`,
      },
    },
    options,
  );
}

/** `?status=A` is a string, `?status=A&status=B` an array: always an array. */
const toList = ({ value }: { value: unknown }): unknown => (typeof value === 'string' ? [value] : value);
/** Digits only become a number; anything else (`1e1`, ` 5`, `5.0`) stays as written and fails IsInt. */
const toInteger = ({ value }: { value: unknown }): unknown => (typeof value === 'string' && /^\d{1,6}$/.test(value) ? Number(value) : value);

/** The query of `GET /api/orders`. Any other parameter is a 400 naming it (the global validation pipe). */
export class ListOrdersQueryDto {
  @ApiPropertyOptional({
    enum: ORDER_STATUSES,
    isArray: true,
    description: 'Only orders in one of these statuses; repeat the parameter for several (`?status=SHIPPED&status=CANCELLED`)',
    example: ['SHIPPED'],
  })
  @IsOptional()
  @Transform(toList)
  @IsIn(ORDER_STATUSES, { each: true, message: `status must be one of ${ORDER_STATUSES.join(', ')}` })
  status?: OrderStatus[];

  @ApiPropertyOptional({ format: 'date-time', description: 'Only orders created at or after this instant (inclusive); RFC 3339 with `Z` or an offset', example: '2026-12-01T00:00:00Z' })
  @IsOptional()
  @IsRfc3339DateTime()
  createdFrom?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Only orders created before this instant (exclusive); RFC 3339 with `Z` or an offset', example: '2026-12-08T00:00:00+01:00' })
  @IsOptional()
  @IsRfc3339DateTime()
  createdTo?: string;

  @ApiPropertyOptional({ description: "Only orders of the customer with this email (case-insensitive); customers are the caller's own", example: 'ada@example.com', maxLength: 320 })
  @IsOptional()
  @IsString()
  @Length(1, 320)
  customerEmail?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: MAX_LIST_LIMIT, default: DEFAULT_LIST_LIMIT, description: 'Orders per page' })
  @IsOptional()
  @Transform(toInteger)
  @IsInt({ message: 'limit must be an integer' })
  @Min(1)
  @Max(MAX_LIST_LIMIT)
  limit?: number;

  @ApiPropertyOptional({
    description: "The previous page's `nextCursor`, with the same filters (else a 400): the page after it",
    example: 'AZPqX0_oc9qAsh4LfFrQaj2h3TX3uiXWUQ',
  })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  cursor?: string;
}

/** One order of a listing: its status and amounts, without customer, address, lines or history. */
export class OrderSummaryDto {
  @ApiProperty({ format: 'uuid', example: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b' }) orderId: string;
  @ApiProperty({ enum: ORDER_STATUSES, example: 'SHIPPED' }) status: OrderStatus;
  @ApiPropertyOptional({ enum: FAILURE_REASONS, example: 'PAYMENT_DECLINED', description: 'Why the order failed, on failure statuses' }) reason?: string;
  @ApiPropertyOptional({ example: 39.98, description: 'Known once the inventory system has priced the items' }) total?: number;
  @ApiProperty({ example: 'EUR' }) currency: string;
  @ApiProperty({ format: 'date-time', example: '2026-11-22T10:15:30.000Z' }) createdAt: string;
  @ApiProperty({ format: 'date-time', example: '2026-11-22T10:15:33.456Z' }) updatedAt: string;
}

export class OrderListResponseDto {
  @ApiProperty({ type: [OrderSummaryDto], description: 'Newest first' }) items: OrderSummaryDto[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass it as `cursor` (with the same filters) for the next page; null on the last page', example: 'AZPqX0_oc9qAsh4LfFrQaj2h3TX3uiXWUQ' })
  nextCursor: string | null;
}
