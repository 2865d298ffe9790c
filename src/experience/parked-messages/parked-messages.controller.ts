import { Controller, Get, HttpCode, HttpStatus, Param, Post, Query, Req } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiParam, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { callerOf } from '../../platform/auth/access-token.js';
import { RequireScopes, Scope } from '../../platform/auth/scopes.decorator.js';
import { DEFAULT_PARKED_LIMIT, ParkedMessageDto, ParkedMessageListResponseDto, ParkedMessageQueryDto } from './dto/parked-message.dto.js';
import { ParkedMessagesService } from './parked-messages.service.js';

/** Operator routes for outbox messages the broker refused, which the relay parked instead of retrying forever. */
@ApiTags('operations')
@Controller('admin/outbox/parked')
@RequireScopes(Scope.ADMIN)
@ApiBadRequestResponse({ description: 'Invalid input: every violated field is listed in `errors`' })
@ApiServiceUnavailableResponse({ description: 'The database is unavailable' })
export class ParkedMessagesController {
  constructor(private readonly parked: ParkedMessagesService) {}

  @Get()
  @ApiOperation({
    summary: 'List parked outbox messages',
    description:
      'Messages the broker refused for what they are (larger than the topic allows, an invalid record): the relay set them aside with the broker’s answer and went on with the rest. Lists the first `limit` (without their payload) and how many there are.',
  })
  @ApiOkResponse({ type: ParkedMessageListResponseDto })
  list(@Query() query: ParkedMessageQueryDto): Promise<ParkedMessageListResponseDto> {
    return this.parked.list(query.limit ?? DEFAULT_PARKED_LIMIT);
  }

  @Post(':id/release')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Release a parked outbox message',
    description:
      'Hands the message back to the relay, which publishes it at once. Release after fixing the cause, or the broker refuses it again and it is parked again. Later messages of the same order went out meanwhile, so it arrives after them. Answers with the message as it was parked.',
  })
  @ApiParam({ name: 'id', description: 'The outbox id, as listed', example: '4711' })
  @ApiOkResponse({ type: ParkedMessageDto })
  @ApiNotFoundResponse({ description: 'No parked message with this id (unknown, or not parked: published or already released)' })
  release(@Param('id') id: string, @Req() req: Request): Promise<ParkedMessageDto> {
    return this.parked.release(id, callerOf(req));
  }
}
