import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsDefined,
  IsEmail,
  IsInt,
  IsISO31661Alpha2,
  IsISO4217CurrencyCode,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
  type ValidationArguments,
  ValidatorConstraint,
  type ValidatorConstraintInterface,
  Validate,
} from 'class-validator';

export class CustomerDto {
  @ApiPropertyOptional({ description: 'Your own customer id; orders with the same id share one customer record', example: 'cust-42', maxLength: 100 })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  id?: string;

  @ApiProperty({ example: 'Ada Lovelace', maxLength: 200 })
  @IsDefined()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name: string;

  @ApiProperty({ example: 'ada@example.com', maxLength: 320 })
  @IsDefined()
  @IsEmail()
  @MaxLength(320)
  email: string;

  @ApiPropertyOptional({ example: '+44 20 7946 0000', description: 'Digits, spaces and + ( ) - only', maxLength: 40 })
  @IsOptional()
  @IsString()
  @Matches(/^\+?[0-9 ()-]{5,40}$/, { message: 'phone must contain only digits, spaces and + ( ) -' })
  phone?: string;
}

export class ShippingAddressDto {
  @ApiProperty({ example: '12 St James Square', maxLength: 200 })
  @IsDefined()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  line1: string;

  @ApiPropertyOptional({ example: 'Flat 3', maxLength: 200, description: 'Leave it out rather than send an empty string' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  line2?: string;

  @ApiProperty({ example: 'London', maxLength: 100 })
  @IsDefined()
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  city: string;

  @ApiProperty({ example: 'SW1Y 4JH', maxLength: 20 })
  @IsDefined()
  @IsString()
  @IsNotEmpty()
  @MaxLength(20)
  postalCode: string;

  @ApiProperty({ example: 'GB', description: 'ISO 3166-1 alpha-2 country code' })
  @IsDefined()
  @IsISO31661Alpha2()
  country: string;
}

export class OrderItemDto {
  @ApiProperty({ example: 'SKU-1001', description: 'A productId from GET /api/inventory/products', maxLength: 64 })
  @IsDefined()
  @IsString()
  @Matches(/^[A-Za-z0-9._-]{1,64}$/, { message: 'productId must be 1-64 letters, digits, dot, dash or underscore' })
  productId: string;

  @ApiProperty({ type: 'integer', example: 2, minimum: 1, maximum: 1000 })
  @IsDefined()
  @IsInt()
  @Min(1)
  @Max(1000)
  quantity: number;
}

@ValidatorConstraint({ name: 'uniqueProducts' })
class UniqueProductsConstraint implements ValidatorConstraintInterface {
  validate(items: unknown): boolean {
    if (!Array.isArray(items)) return true;
    const ids = items.map((i) => (i && typeof i === 'object' ? (i as { productId?: unknown }).productId : undefined));
    return new Set(ids).size === ids.length;
  }
  defaultMessage(_args: ValidationArguments): string {
    return 'items must list each productId once (put the total in quantity)';
  }
}

export class CreateOrderRequestDto {
  @ApiProperty({ type: CustomerDto })
  @IsDefined()
  // An array passes ValidateNested (each element is validated) but is no customer.
  @IsObject()
  @ValidateNested()
  @Type(() => CustomerDto)
  customer: CustomerDto;

  @ApiProperty({ type: ShippingAddressDto })
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => ShippingAddressDto)
  shippingAddress: ShippingAddressDto;

  @ApiProperty({ type: [OrderItemDto], minItems: 1, maxItems: 100 })
  @IsDefined()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => OrderItemDto)
  @Validate(UniqueProductsConstraint)
  items: OrderItemDto[];

  @ApiPropertyOptional({ example: 'EUR', description: 'ISO 4217 code; defaults to the configured currency' })
  @IsOptional()
  @IsISO4217CurrencyCode()
  currency?: string;
}
