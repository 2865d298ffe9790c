import { Controller, Get, HttpCode, HttpStatus, NotFoundException, Param, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBadRequestResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { RequireScopes, Scope } from '../../platform/auth/scopes.decorator.js';
import { StuckStepListDto, StuckStepParamsDto, StuckStepRetriedDto } from './dto/stuck-step.dto.js';
import { SagaStepRepository } from './saga-step.repository.js';

const LIST_LIMIT = 500;

/**
 * Operator routes for compensations the saga set aside after SAGA_COMPENSATION_MAX_ATTEMPTS (state
 * STUCK): list them, and, once the cause is fixed, send them again with a fresh set of attempts.
 */
@ApiTags('operations')
@Controller('admin/saga/stuck-steps')
@RequireScopes(Scope.ADMIN)
@ApiServiceUnavailableResponse({ description: 'The database is unavailable' })
export class SagaAdminController {
  constructor(private readonly steps: SagaStepRepository) {}

  @Get()
  @ApiOperation({ summary: 'List compensations set aside', description: 'Release, refund or shipment cancellation that kept failing: each still owes the order an undo.' })
  @ApiOkResponse({ type: StuckStepListDto })
  async list(): Promise<StuckStepListDto> {
    const { count, rows } = await this.steps.findStuck(LIST_LIMIT);
    return {
      count,
      items: rows.map((r) => ({
        orderId: r.order_id,
        step: r.step,
        orderStatus: r.status,
        attempts: r.attempt,
        lastAttemptAt: r.sent_at ? new Date(r.sent_at).toISOString() : null,
        stuckSince: new Date(r.updated_at).toISOString(),
        correlationId: r.correlation_id,
      })),
    };
  }

  @Post(':orderId/:step/retry')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ summary: 'Retry a compensation set aside', description: 'Sends it again at once, with a fresh set of attempts.' })
  @ApiAcceptedResponse({ type: StuckStepRetriedDto })
  @ApiBadRequestResponse({ description: 'orderId is not a UUID or step not a compensation step (each is listed in `errors`)' })
  @ApiNotFoundResponse({ description: 'No such compensation is set aside' })
  async retry(@Param() { orderId, step }: StuckStepParamsDto): Promise<StuckStepRetriedDto> {
    if (!(await this.steps.retryStuck(orderId, step))) throw new NotFoundException(`no ${step} step of order ${orderId} is set aside`);
    return { orderId, step, state: 'WAITING' };
  }
}
