import { Body, Controller, Get, Headers, HttpCode, HttpStatus, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { viewerOf } from '../../platform/auth/access-token.js';
import { RequireScopes, Scope } from '../../platform/auth/scopes.decorator.js';
import { correlationIdOf } from '../../platform/http/correlation.middleware.js';
import { CreateOrderRequestDto } from './dto/create-order.request.dto.js';
import { OrderAcceptedResponseDto, OrderCancellationAcceptedResponseDto, OrderResponseDto, OrderStatusResponseDto } from './dto/order.response.dto.js';
import { ListOrdersQueryDto, OrderListResponseDto } from './dto/list-orders.dto.js';
import { listQueryOf } from './order-list.query.js';
import { toOrderResponse, toOrderSummary } from './order.mapper.js';
import { OrdersErrorCode, OrdersException } from './orders.exception.js';
import { OrdersService } from './orders.service.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

function checkOrderId(orderId: string): string {
  if (!UUID.test(orderId)) throw new OrdersException(OrdersErrorCode.INVALID_ORDER_ID, 'orderId must be a UUID');
  return orderId.toLowerCase();
}

@ApiTags('orders')
@Controller('orders')
@ApiBadRequestResponse({ description: 'Invalid input: every violated field is listed in `errors`' })
@ApiServiceUnavailableResponse({ description: 'The database is unavailable' })
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  @RequireScopes(Scope.ORDERS_WRITE)
  @ApiOperation({
    summary: 'Submit an order',
    description: 'Persists the order as RECEIVED and hands it to the order saga. Prices come from the inventory catalogue, never from the client.',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Same key and body: the first answer again, nothing created. Same key, other body: 409.',
    example: 'checkout-8c1f2a',
  })
  @ApiHeader({ name: 'X-Correlation-Id', required: false, description: 'Carried through every log line and Kafka message of this order', example: 'req-7f3a' })
  @ApiAcceptedResponse({
    type: OrderAcceptedResponseDto,
    description: 'Accepted; `Location` points at the order',
    headers: {
      Location: { description: 'The order: GET it for the whole order', required: true, schema: { type: 'string', example: '/api/orders/5b0c1d3e-8f61-4b7a-9d0e-2f4a6c8e1b3d' } },
      'Idempotent-Replayed': { description: '`true` when this is the first answer to the same Idempotency-Key again', schema: { type: 'string', enum: ['true'] } },
    },
  })
  @ApiConflictResponse({ description: 'Idempotency-Key reused with a different body' })
  async create(
    @Body() body: CreateOrderRequestDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OrderAcceptedResponseDto> {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new OrdersException(OrdersErrorCode.INVALID_IDEMPOTENCY_KEY, 'Idempotency-Key must be 1-200 visible ASCII characters');
    }
    const correlationId = correlationIdOf(req) as string;
    const { orderId, created } = await this.orders.accept(body, correlationId, viewerOf(req).owner, idempotencyKey);
    res.location(`/api/orders/${orderId}`);
    if (!created) res.setHeader('Idempotent-Replayed', 'true');
    return { orderId, status: 'RECEIVED', statusUrl: `/api/orders/${orderId}/status` };
  }

  @Post(':orderId/cancel')
  @HttpCode(HttpStatus.ACCEPTED)
  @RequireScopes(Scope.ORDERS_WRITE)
  @ApiOperation({
    summary: 'Cancel an order',
    description:
      'Accepted while the order is before SHIPPING_REQUESTED (RECEIVED, INVENTORY_CHECK_STARTED, INVENTORY_CONFIRMED, PAYMENT_COMPLETED): ' +
      'the saga releases the stock, refunds the payment and the order ends CANCELLED (reason CANCELLED_BY_CLIENT). ' +
      'Repeating it answers 202 again, also once the order is CANCELLED. No body.',
  })
  @ApiParam({ name: 'orderId', format: 'uuid', example: '5b0c1d3e-8f61-4b7a-9d0e-2f4a6c8e1b3d' })
  @ApiAcceptedResponse({ type: OrderCancellationAcceptedResponseDto, description: 'The cancellation is committed: the order will end CANCELLED' })
  @ApiNotFoundResponse({ description: 'No such order, or one of another client (`orders.admin` may cancel every order)' })
  @ApiConflictResponse({ description: '`ORDER_NOT_CANCELLABLE`: the order is SHIPPING_REQUESTED or later, or ended otherwise (failed, shipped)' })
  async cancel(@Param('orderId') orderId: string, @Req() req: Request): Promise<OrderCancellationAcceptedResponseDto> {
    const id = checkOrderId(orderId);
    const { cancelRequestedAt } = await this.orders.cancel(id, viewerOf(req));
    return { orderId: id, cancelRequestedAt: cancelRequestedAt.toISOString(), statusUrl: `/api/orders/${id}/status` };
  }

  @Get()
  @RequireScopes(Scope.ORDERS_READ)
  @ApiOperation({
    summary: 'List orders',
    description:
      'The caller’s orders (every client’s with `orders.admin`), newest first, a page at a time: pass `nextCursor` as `cursor`, with the same filters, for the next page. ' +
      'Filters combine (AND): `status` (repeatable: any of them), `createdFrom` (inclusive) and `createdTo` (exclusive), `customerEmail`. ' +
      'Every bad parameter, and any parameter not listed here, is a 400 naming it in `errors`.',
  })
  @ApiOkResponse({ type: OrderListResponseDto })
  async list(@Query() query: ListOrdersQueryDto, @Req() req: Request): Promise<OrderListResponseDto> {
    const page = await this.orders.list(listQueryOf(query), viewerOf(req));
    return { items: page.items.map(toOrderSummary), nextCursor: page.nextCursor };
  }

  @Get(':orderId')
  @RequireScopes(Scope.ORDERS_READ)
  @ApiOperation({ summary: 'The whole order', description: 'Customer, address, items with prices once known, total, status, history and fulfillment.' })
  @ApiParam({ name: 'orderId', format: 'uuid', example: '5b0c1d3e-8f61-4b7a-9d0e-2f4a6c8e1b3d' })
  @ApiOkResponse({ type: OrderResponseDto })
  @ApiNotFoundResponse({ description: 'No such order, or one of another client (`orders.admin` sees every order)' })
  async get(@Param('orderId') orderId: string, @Req() req: Request): Promise<OrderResponseDto> {
    return toOrderResponse(await this.orders.get(checkOrderId(orderId), viewerOf(req)));
  }

  @Get(':orderId/status')
  @RequireScopes(Scope.ORDERS_READ)
  @ApiOperation({ summary: 'The order status only', description: 'The light, fast query: one indexed read.' })
  @ApiParam({ name: 'orderId', format: 'uuid', example: '5b0c1d3e-8f61-4b7a-9d0e-2f4a6c8e1b3d' })
  @ApiOkResponse({ type: OrderStatusResponseDto })
  @ApiNotFoundResponse({ description: 'No such order, or one of another client (`orders.admin` sees every order)' })
  async status(@Param('orderId') orderId: string, @Req() req: Request): Promise<OrderStatusResponseDto> {
    const s = await this.orders.status(checkOrderId(orderId), viewerOf(req));
    return { orderId: s.orderId, status: s.status, ...(s.reason ? { reason: s.reason } : {}), updatedAt: s.updatedAt.toISOString() };
  }
}
