import { Body, Controller, Get, HttpCode, HttpStatus, Post, Query, Req } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { callerOf } from '../../platform/auth/access-token.js';
import { RequireScopes, Scope } from '../../platform/auth/scopes.decorator.js';
import { DEFAULT_LIST_LIMIT, DeadLetterListResponseDto, DeadLetterQueryDto, ReplayDeadLettersRequestDto, ReplayDeadLettersResponseDto } from './dto/dead-letter.dto.js';
import { DeadLettersErrorCode, DeadLettersException } from './dead-letters.exception.js';
import { DeadLettersService, type ReplaySelection } from './dead-letters.service.js';

function selectionOf(body: ReplayDeadLettersRequestDto): ReplaySelection {
  if (body.ids && body.all !== undefined) throw new DeadLettersException(DeadLettersErrorCode.INVALID_REQUEST, 'either ids or all, not both');
  if (body.ids) {
    if (body.group !== undefined || body.since !== undefined)
      throw new DeadLettersException(DeadLettersErrorCode.INVALID_REQUEST, 'group and since select letters for all: true; named ids need neither');
    return { ids: [...new Set(body.ids)] };
  }
  if (body.all !== true) throw new DeadLettersException(DeadLettersErrorCode.INVALID_REQUEST, 'name the letters (ids, as listed) or pass all: true');
  return { all: true, consumerGroup: body.group, since: body.since ? new Date(body.since) : undefined };
}

/** Operator routes (docs/architecture.md §10, docs/security.md): list the dead letters and replay them once their cause is fixed. */
@ApiTags('operations')
@Controller('admin/dead-letters')
@RequireScopes(Scope.ADMIN)
@ApiBadRequestResponse({ description: 'Invalid input: every violated field is listed in `errors`' })
@ApiServiceUnavailableResponse({ description: 'Kafka is unreachable or refused to read or write the topics (the reason is in `detail`)' })
export class DeadLettersController {
  constructor(private readonly deadLetters: DeadLettersService) {}

  @Get()
  @ApiOperation({
    summary: 'List dead letters',
    description:
      'Reads `dlq-orders` to its current end (a few seconds: a consumer group of its own that commits nothing) and lists the letters (the first `limit`, and how many match) with the consumer group that gave up, where the message came from, why, and the message itself.',
  })
  @ApiOkResponse({ type: DeadLetterListResponseDto })
  async list(@Query() query: DeadLetterQueryDto): Promise<DeadLetterListResponseDto> {
    const all = await this.deadLetters.list({ consumerGroup: query.group, since: query.since ? new Date(query.since) : undefined });
    return { count: all.length, items: all.slice(0, query.limit ?? DEFAULT_LIST_LIMIT) };
  }

  @Post('replay')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Replay dead letters',
    description:
      'Publishes each chosen letter’s original message again to its origin topic (header `x-dlq-replay-of`). Every group reading that topic receives it; those that processed it already find it in their inbox and skip it, so a replay is safe to repeat. Replay after fixing the cause, or the message fails again and returns to the DLQ.',
  })
  @ApiOkResponse({ type: ReplayDeadLettersResponseDto })
  @ApiNotFoundResponse({ description: 'A named letter is not in the DLQ; nothing was replayed' })
  replay(@Body() body: ReplayDeadLettersRequestDto, @Req() req: Request): Promise<ReplayDeadLettersResponseDto> {
    return this.deadLetters.replay(selectionOf(body), callerOf(req));
  }
}
