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
  ApiProduces,
  ApiResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { viewerOf } from '../../platform/auth/access-token.js';
import { RequireScopes, Scope } from '../../platform/auth/scopes.decorator.js';
import { sendConditional } from '../../platform/http/conditional.js';
import { correlationIdOf } from '../../platform/http/correlation.middleware.js';
import { OrderStreamsService, TooManyStreamsError } from './events/order-streams.service.js';
import { CreateOrderRequestDto } from './dto/create-order.request.dto.js';
import { OrderAcceptedResponseDto, OrderCancellationAcceptedResponseDto, OrderResponseDto, OrderStatusResponseDto } from './dto/order.response.dto.js';
import { OrderReadsService } from './order-reads.service.js';
import { ListOrdersQueryDto, OrderListResponseDto } from './dto/list-orders.dto.js';
import { listQueryOf } from './order-list.query.js';
import { toOrderSummary } from './order.mapper.js';
import { OrdersErrorCode, OrdersException } from './orders.exception.js';
import { OrdersService } from './orders.service.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;
const LAST_EVENT_ID = /^\d{1,9}$/;
/** How long a client refused for too many open streams should wait, in seconds. */
const STREAMS_RETRY_AFTER_S = 5;

const EVENTS_DESCRIPTION = [
  'Server-sent events (`text/event-stream`, docs/order-events.md). First the current status (and the shipment, if any), then every change:',
  '`event: status` with `data: {orderId, status, reason?, at}`, `event: fulfillment` with `data: {orderId, shipmentStatus, shipmentId?, carrier?, trackingNumber?, estimatedDelivery?, at}`.',
  'Each event has `id:` its per-order sequence (1, 2, 3…); send it back as `Last-Event-ID` (EventSource does on reconnect) to get every later event.',
  'A `: keep-alive` comment every 15 s; `retry:` once. The stream ends once the order can change no more:',
  'INVENTORY_FAILED, PAYMENT_FAILED, SHIPPING_FAILED, CANCELLED, or a shipment DELIVERED, FAILED or CANCELLED.',
].join(' ');

function checkOrderId(orderId: string): string {
  if (!UUID.test(orderId)) throw new OrdersException(OrdersErrorCode.INVALID_ORDER_ID, 'orderId must be a UUID');
  return orderId.toLowerCase();
}

const ETAG_HEADER = {
  description: 'Names this content: send it back in `If-None-Match` to get `304` while it has not changed',
  required: true,
  schema: { type: 'string', example: '"Yx3Tf0m0bq2m8f1JzS6nAd4rGkW"' },
} as const;

/** The headers of a conditional read's `200`. */
const CONDITIONAL_HEADERS = {
  ETag: ETAG_HEADER,
  'Cache-Control': { description: 'Only the client may keep it, and must revalidate it before each use', required: true, schema: { type: 'string', enum: ['private, no-cache'] } },
};

const IF_NONE_MATCH = {
  name: 'If-None-Match',
  required: false,
  description: 'ETags of copies the client holds (a list, weak `W/` forms, or `*`): `304` without a body when one is current',
  example: '"Yx3Tf0m0bq2m8f1JzS6nAd4rGkW"',
};

const NOT_MODIFIED = { status: HttpStatus.NOT_MODIFIED, description: 'Not modified: the copy named in `If-None-Match` is current (no body)', headers: { ETag: ETAG_HEADER } };

@ApiTags('orders')
@Controller('orders')
@ApiBadRequestResponse({ description: 'Invalid input: every violated field is listed in `errors`' })
@ApiServiceUnavailableResponse({ description: 'The database is unavailable' })
export class OrdersController {
  constructor(
    private readonly orders: OrdersService,
    private readonly streams: OrderStreamsService,
    private readonly reads: OrderReadsService,
  ) {}

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
  @ApiOperation({
    summary: 'The whole order',
    description: 'Customer, address, items with prices once known, total, status, history and fulfillment. Conditional with `If-None-Match`: `304` while it has not changed.',
  })
  @ApiParam({ name: 'orderId', format: 'uuid', example: '5b0c1d3e-8f61-4b7a-9d0e-2f4a6c8e1b3d' })
  @ApiHeader(IF_NONE_MATCH)
  @ApiOkResponse({ type: OrderResponseDto, headers: CONDITIONAL_HEADERS })
  @ApiResponse(NOT_MODIFIED)
  @ApiNotFoundResponse({ description: 'No such order, or one of another client (`orders.admin` sees every order)' })
  async get(@Param('orderId') orderId: string, @Headers('if-none-match') ifNoneMatch: string | undefined, @Req() req: Request, @Res() res: Response): Promise<void> {
    sendConditional(res, await this.reads.order(checkOrderId(orderId), viewerOf(req)), ifNoneMatch);
  }

  @Get(':orderId/status')
  @RequireScopes(Scope.ORDERS_READ)
  @ApiOperation({
    summary: 'The order status only',
    description: 'The light, fast query: one indexed read, or none when cached. Conditional with `If-None-Match`: `304` while it has not changed.',
  })
  @ApiParam({ name: 'orderId', format: 'uuid', example: '5b0c1d3e-8f61-4b7a-9d0e-2f4a6c8e1b3d' })
  @ApiHeader(IF_NONE_MATCH)
  @ApiOkResponse({ type: OrderStatusResponseDto, headers: CONDITIONAL_HEADERS })
  @ApiResponse(NOT_MODIFIED)
  @ApiNotFoundResponse({ description: 'No such order, or one of another client (`orders.admin` sees every order)' })
  async status(@Param('orderId') orderId: string, @Headers('if-none-match') ifNoneMatch: string | undefined, @Req() req: Request, @Res() res: Response): Promise<void> {
    sendConditional(res, await this.reads.status(checkOrderId(orderId), viewerOf(req)), ifNoneMatch);
  }

  @Get(':orderId/events')
  @RequireScopes(Scope.ORDERS_READ)
  @ApiOperation({ summary: 'Live status stream (server-sent events)', description: EVENTS_DESCRIPTION })
  @ApiParam({ name: 'orderId', format: 'uuid', example: '5b0c1d3e-8f61-4b7a-9d0e-2f4a6c8e1b3d' })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume after this event id: every later event is sent', example: '3' })
  @ApiProduces('text/event-stream')
  @ApiOkResponse({
    description: 'The event stream',
    content: { 'text/event-stream': { schema: { type: 'string', example: 'retry: 3000\n\nid: 1\nevent: status\ndata: {"orderId":"5b0c1d3e-8f61-4b7a-9d0e-2f4a6c8e1b3d","status":"RECEIVED","at":"2025-12-07T10:00:00.000Z"}\n\n' } } },
  })
  @ApiNotFoundResponse({ description: 'No such order, or one of another client (`orders.admin` sees every order)' })
  @ApiServiceUnavailableResponse({
    description: 'The database is unavailable, or this replica holds its most open streams (code SERVICE_UNAVAILABLE, with `Retry-After`)',
    headers: { 'Retry-After': { description: 'Seconds to wait before opening the stream again', schema: { type: 'integer', example: STREAMS_RETRY_AFTER_S } } },
  })
  async events(@Param('orderId') orderId: string, @Headers('last-event-id') lastEventId: string | undefined, @Req() req: Request, @Res() res: Response): Promise<void> {
    const id = checkOrderId(orderId);
    if (lastEventId !== undefined && !LAST_EVENT_ID.test(lastEventId)) {
      throw new OrdersException(OrdersErrorCode.INVALID_LAST_EVENT_ID, 'Last-Event-ID must be an event id of this stream (a whole number)');
    }
    await this.reads.status(id, viewerOf(req)); // 404 for an unknown order or another client's
    try {
      await this.streams.open(id, res, lastEventId === undefined ? undefined : Number(lastEventId));
    } catch (err) {
      if (!(err instanceof TooManyStreamsError)) throw err;
      res.setHeader('Retry-After', String(STREAMS_RETRY_AFTER_S));
      throw new OrdersException(OrdersErrorCode.TOO_MANY_STREAMS, 'This replica holds its most open event streams; try again later');
    }
  }
}
