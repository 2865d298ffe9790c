import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { FAILURE_REASONS, ORDER_STATUSES, SHIPMENT_STATUSES, type OrderStatus, type ShipmentStatus } from '../../../contracts/order-status.js';

export class OrderAcceptedResponseDto {
  @ApiProperty({ format: 'uuid', example: '5b0c1d3e-8f61-4b7a-9d0e-2f4a6c8e1b3d' }) orderId: string;
  @ApiProperty({ enum: ['RECEIVED'], example: 'RECEIVED' }) status: 'RECEIVED';
  @ApiProperty({ example: '/api/orders/5b0c1d3e-8f61-4b7a-9d0e-2f4a6c8e1b3d/status' }) statusUrl: string;
}

export class OrderCancellationAcceptedResponseDto {
  @ApiProperty({ format: 'uuid', example: '5b0c1d3e-8f61-4b7a-9d0e-2f4a6c8e1b3d' }) orderId: string;
  @ApiProperty({ format: 'date-time', example: '2026-11-22T10:15:31.456Z', description: 'When the first cancel request was accepted: the same on every repeat' })
  cancelRequestedAt: string;
  @ApiProperty({ example: '/api/orders/5b0c1d3e-8f61-4b7a-9d0e-2f4a6c8e1b3d/status', description: 'Poll it: the order ends CANCELLED (reason CANCELLED_BY_CLIENT)' })
  statusUrl: string;
}

export class OrderStatusResponseDto {
  @ApiProperty({ format: 'uuid', example: '5b0c1d3e-8f61-4b7a-9d0e-2f4a6c8e1b3d' }) orderId: string;
  @ApiProperty({ enum: ORDER_STATUSES, example: 'PAYMENT_COMPLETED' }) status: OrderStatus;
  @ApiPropertyOptional({ enum: FAILURE_REASONS, example: 'OUT_OF_STOCK', description: 'Why the order failed, on failure statuses' }) reason?: string;
  @ApiProperty({ format: 'date-time', example: '2026-11-22T10:15:30.123Z' }) updatedAt: string;
}

export class OrderCustomerDto {
  @ApiProperty({ example: '0e8f3a4c-1b2d-4c5e-8f9a-0b1c2d3e4f5a' }) id: string;
  @ApiPropertyOptional({ example: 'cust-42' }) externalId?: string;
  @ApiProperty({ example: 'Ada Lovelace' }) name: string;
  @ApiProperty({ example: 'ada@example.com' }) email: string;
  @ApiPropertyOptional({ example: '+44 20 7946 0000' }) phone?: string;
}

export class OrderAddressDto {
  @ApiProperty({ example: '12 St James Square' }) line1: string;
  @ApiPropertyOptional({ example: 'Flat 3' }) line2?: string;
  @ApiProperty({ example: 'London' }) city: string;
  @ApiProperty({ example: 'SW1Y 4JH' }) postalCode: string;
  @ApiProperty({ example: 'GB' }) country: string;
}

export class OrderItemResponseDto {
  @ApiProperty({ example: 'SKU-1001' }) productId: string;
  @ApiProperty({ type: 'integer', example: 2 }) quantity: number;
  @ApiPropertyOptional({ example: 19.99, description: 'Set by the inventory system once the stock is reserved' }) unitPrice?: number;
}

export class OrderHistoryEntryDto {
  @ApiProperty({ enum: ORDER_STATUSES, example: 'INVENTORY_CONFIRMED' }) status: OrderStatus;
  @ApiPropertyOptional({ enum: ORDER_STATUSES, example: 'INVENTORY_CHECK_STARTED' }) from?: OrderStatus;
  @ApiPropertyOptional({ enum: FAILURE_REASONS, example: 'OUT_OF_STOCK' }) reason?: string;
  @ApiProperty({ format: 'date-time', example: '2026-11-22T10:15:30.123Z' }) at: string;
}

export class FulfillmentDto {
  @ApiPropertyOptional({ example: 'DHL' }) carrier?: string;
  @ApiPropertyOptional({ example: 'SHIP-7Q2K9D4M1X' }) trackingNumber?: string;
  @ApiPropertyOptional({ format: 'date-time', example: '2026-11-25T17:00:00.000Z' }) estimatedDelivery?: string;
  @ApiPropertyOptional({ enum: SHIPMENT_STATUSES, example: 'IN_TRANSIT' }) shipmentStatus?: ShipmentStatus;
}

export class OrderResponseDto {
  @ApiProperty({ format: 'uuid', example: '5b0c1d3e-8f61-4b7a-9d0e-2f4a6c8e1b3d' }) orderId: string;
  @ApiProperty({ enum: ORDER_STATUSES, example: 'SHIPPED' }) status: OrderStatus;
  @ApiPropertyOptional({ enum: FAILURE_REASONS, example: 'PAYMENT_DECLINED' }) reason?: string;
  @ApiProperty({ type: OrderCustomerDto }) customer: OrderCustomerDto;
  @ApiProperty({ type: OrderAddressDto }) shippingAddress: OrderAddressDto;
  @ApiProperty({ type: [OrderItemResponseDto] }) items: OrderItemResponseDto[];
  @ApiPropertyOptional({ example: 39.98, description: 'Known once the inventory system has priced the items' }) total?: number;
  @ApiProperty({ example: 'EUR' }) currency: string;
  @ApiProperty({ type: [OrderHistoryEntryDto] }) history: OrderHistoryEntryDto[];
  @ApiPropertyOptional({ type: FulfillmentDto }) fulfillment?: FulfillmentDto;
  @ApiProperty({ example: 'req-7f3a' }) correlationId: string;
  @ApiProperty({ format: 'date-time', example: '2026-11-22T10:15:30.000Z' }) createdAt: string;
  @ApiProperty({ format: 'date-time', example: '2026-11-22T10:15:33.456Z' }) updatedAt: string;
}
