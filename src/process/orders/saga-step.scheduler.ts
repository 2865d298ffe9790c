import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { DataSource } from 'typeorm';
import { sagaConfig } from '../../config/saga.config.js';
import { OutboxService } from '../../platform/messaging/outbox.service.js';
import { correlation } from '../../platform/observability/correlation.js';
import { OrderSagaService } from './order-saga.service.js';
import type { SagaStep } from './order-saga.js';

/**
 * Finds saga steps past their deadline or backoff and hands each to the saga: resend with the next
 * attempt, or fail the order with STEP_TIMED_OUT and compensate (DESIGN §7.4). Safe with several
 * replicas: each order is claimed with `FOR UPDATE SKIP LOCKED` and its step re-checked under the lock.
 */
@Injectable()
export class SagaStepScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SagaStepScheduler.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly saga: OrderSagaService,
    private readonly outbox: OutboxService,
    @Inject(sagaConfig.KEY) private readonly cfg: ConfigType<typeof sagaConfig>,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .then(() => undefined)
        .catch((err: Error) => this.logger.warn(`step scheduler pass failed: ${err.message}`))
        .finally(() => {
          this.running = null;
          this.schedule();
        });
    }, this.cfg.schedulerIntervalMs);
    this.timer.unref();
  }

  /** One pass: every due step, each in its own short transaction. Returns how many it advanced. */
  async tick(): Promise<number> {
    // Every step row is WAITING or RETRY (finished steps are deleted); naming both lets the
    // (state, due_at) index serve this poll.
    const due: Array<{ order_id: string; step: SagaStep; correlation_id: string }> = await this.dataSource.query(
      `SELECT order_id, step, correlation_id FROM saga_steps WHERE state IN ('WAITING', 'RETRY') AND due_at <= ? ORDER BY due_at LIMIT ?`,
      [new Date(), this.cfg.schedulerBatchSize],
    );
    let advanced = 0;
    for (const row of due) {
      if (this.stopped) break;
      const done = await correlation.run({ correlationId: row.correlation_id, orderId: row.order_id }, () =>
        this.dataSource.transaction((tx) => this.saga.stepDue(tx, row.order_id, row.step)),
      );
      if (done) advanced += 1;
    }
    if (advanced) this.outbox.flush();
    return advanced;
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
