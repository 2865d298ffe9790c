import { Controller, Get, HttpCode, HttpStatus, NotFoundException, Param, Post } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { affectedRows } from '../../platform/database/sql-batch.js';
import { RequireScopes, Scope } from '../../platform/auth/scopes.decorator.js';
import { StuckStepListDto, StuckStepParamsDto } from './dto/stuck-step.dto.js';

const LIST_LIMIT = 500;

interface StuckRow {
  order_id: string;
  step: string;
  status: StuckStepListDto['items'][number]['orderStatus'];
  attempt: number;
  sent_at: Date | null;
  updated_at: Date;
  correlation_id: string;
}

/**
 * Operator routes for compensations the saga set aside after SAGA_COMPENSATION_MAX_ATTEMPTS (state
 * STUCK): list them, and, once the cause is fixed, send them again with a fresh set of attempts.
 */
@ApiTags('operations')
@Controller('admin/saga/stuck-steps')
@RequireScopes(Scope.ADMIN)
export class SagaAdminController {
  constructor(private readonly dataSource: DataSource) {}

  @Get()
  @ApiOperation({ summary: 'List compensations set aside', description: 'Release, refund or shipment cancellation that kept failing: each still owes the order an undo.' })
  @ApiOkResponse({ type: StuckStepListDto })
  async list(): Promise<StuckStepListDto> {
    const [[{ n }], rows] = (await Promise.all([
      this.dataSource.query(`SELECT COUNT(*) AS n FROM saga_steps WHERE state = 'STUCK'`),
      this.dataSource.query(
        `SELECT s.order_id, s.step, o.status, s.attempt, s.sent_at, s.updated_at, s.correlation_id
           FROM saga_steps s JOIN orders o ON o.id = s.order_id WHERE s.state = 'STUCK' ORDER BY s.updated_at LIMIT ?`,
        [LIST_LIMIT],
      ),
    ])) as [Array<{ n: number | string }>, StuckRow[]];
    return {
      count: Number(n),
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
  @ApiNotFoundResponse({ description: 'No such compensation is set aside' })
  async retry(@Param() { orderId, step }: StuckStepParamsDto): Promise<{ orderId: string; step: string; state: 'WAITING' }> {
    // Due now, attempt 0 and no command: the scheduler sends attempt 1 on its next pass.
    const result = await this.dataSource.query(
      `UPDATE saga_steps SET state = 'WAITING', attempt = 0, command_event_id = NULL, due_at = UTC_TIMESTAMP(3), updated_at = UTC_TIMESTAMP(3)
        WHERE order_id = ? AND step = ? AND state = 'STUCK'`,
      [orderId, step],
    );
    if (affectedRows(result) !== 1) throw new NotFoundException(`no ${step} step of order ${orderId} is set aside`);
    return { orderId, step, state: 'WAITING' };
  }
}
