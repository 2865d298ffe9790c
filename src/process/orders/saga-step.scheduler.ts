import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { DataSource } from 'typeorm';
import { Poller } from '../../common/poller.js';
import { sagaConfig } from '../../config/saga.config.js';
import { OrderRepository } from '../../order-store/order.repository.js';
import { OutboxService } from '../../platform/messaging/outbox.service.js';
import { correlation } from '../../platform/observability/correlation.js';
import { sagaSchedulerFailures } from '../../platform/observability/metrics.counters.js';
import { observedOnCommit } from '../../platform/observability/metrics.on-commit.js';
import { untraced } from '../../platform/observability/tracing.js';
import { OrderSagaService } from './order-saga.service.js';
import { SagaStepRepository, type DueStep } from './saga-step.repository.js';
import { StepDeadlineGate } from './step-deadline.gate.js';

/** A due step whose handling failed is looked at again this much later, so it never holds up the others. */
const FAILED_STEP_BACKOFF_MS = 30_000;
/**
 * Due steps advanced per transaction: one commit for many instead of one each, which is what bounds
 * how fast a backlog of retries drains. Other replicas skip the orders a transaction holds.
 */
const ADVANCE_CHUNK = 50;
/** Stalled orders driven on per sweep (each in its own short transaction). */
const SWEEP_BATCH = 100;

/**
 * Finds saga steps past their deadline or backoff and hands each to the saga: resend with the next
 * attempt, or fail the order with STEP_TIMED_OUT and compensate (docs/architecture.md §7.4), once the deadline gate
 * agrees that the other system, not our own pipeline, is late. Also sweeps orders stalled in a status
 * that has no step deadline (RECEIVED, PAYMENT_COMPLETED). Safe with several replicas: each order is
 * claimed with `FOR UPDATE SKIP LOCKED` and its step re-checked under the lock.
 */
@Injectable()
export class SagaStepScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SagaStepScheduler.name);
  private readonly poller: Poller<void>;
  private lastSweep = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly orders: OrderRepository,
    private readonly steps: SagaStepRepository,
    private readonly saga: OrderSagaService,
    private readonly gate: StepDeadlineGate,
    private readonly outbox: OutboxService,
    @Inject(sagaConfig.KEY) private readonly cfg: ConfigType<typeof sagaConfig>,
  ) {
    this.poller = new Poller({ task: () => untraced(() => this.pass()), intervalMs: cfg.schedulerIntervalMs, log: this.logger, failureMessage: 'step scheduler pass failed' });
  }

  private get stopped(): boolean {
    return this.poller.stopped;
  }

  onApplicationBootstrap(): void {
    this.poller.start();
  }

  private async pass(): Promise<void> {
    try {
      await this.tick();
    } catch (err) {
      this.logger.warn(`step scheduler pass failed: ${(err as Error).message}`);
    }
    if (Date.now() - this.lastSweep >= this.cfg.sweepIntervalMs) {
      this.lastSweep = Date.now();
      await this.sweep().catch((err: Error) => this.logger.warn(`stalled-order sweep failed: ${err.message}`));
    }
  }

  /** One pass: every due step the gate lets through, a chunk to a transaction. Returns how many it advanced. */
  async tick(): Promise<number> {
    const rows = await this.gate.dueSteps(this.cfg.schedulerBatchSize);
    if (!rows.length) return 0;
    const verdicts = await this.gate.judge(rows);
    await this.gate.defer(rows.flatMap((row, i) => (verdicts[i].kind === 'defer' ? [{ row, until: (verdicts[i] as { until: Date }).until }] : [])));
    const due = rows.filter((_, i) => verdicts[i].kind === 'due');
    for (const row of due) this.gate.forget(row);
    let advanced = 0;
    for (let start = 0; start < due.length && !this.stopped; start += ADVANCE_CHUNK) {
      advanced += await this.advanceChunk(due.slice(start, start + ADVANCE_CHUNK));
    }
    if (advanced) this.outbox.flush();
    return advanced;
  }

  /** Due steps in one transaction; if that fails, each on its own, so one bad row holds up no other. */
  private async advanceChunk(rows: DueStep[]): Promise<number> {
    if (rows.length > 1) {
      try {
        return await observedOnCommit(() => this.dataSource.transaction((tx) => this.saga.stepsDue(tx, rows)));
      } catch (err) {
        this.logger.warn(`${rows.length} due steps failed together (${(err as Error).message}); advancing them one by one`);
      }
    }
    let advanced = 0;
    for (const row of rows) if (!this.stopped && (await this.advance(row))) advanced += 1;
    return advanced;
  }

  /** Hands one due step to the saga; a failure is logged, counted and retried later, and never stops the pass. */
  private async advance(row: DueStep): Promise<boolean> {
    return correlation.run({ correlationId: row.correlationId, orderId: row.orderId }, async () => {
      try {
        return await observedOnCommit(() => this.dataSource.transaction((tx) => this.saga.stepDue(tx, row.orderId, row.step, row.commandEventId)));
      } catch (err) {
        sagaSchedulerFailures.inc();
        this.logger.error(`order ${row.orderId}: due ${row.step} step failed (${(err as Error).message}); looking again in ${FAILED_STEP_BACKOFF_MS / 1000} s`);
        await this.steps.postpone(row.orderId, row.step, FAILED_STEP_BACKOFF_MS / 1000).catch(() => undefined);
        return false;
      }
    });
  }

  /** Drives on orders stalled in RECEIVED or PAYMENT_COMPLETED (no step deadline watches them). Returns how many. */
  async sweep(): Promise<number> {
    const stalled = await this.orders.findStalled(this.cfg.stalledAfterMs / 1000, SWEEP_BATCH);
    let driven = 0;
    for (const order of stalled) {
      if (this.stopped) break;
      try {
        const done = await correlation.run({ correlationId: order.correlationId, orderId: order.id }, () =>
          observedOnCommit(() => this.dataSource.transaction((tx) => this.saga.redrive(tx, order.id, this.cfg.stalledAfterMs))),
        );
        if (done) driven += 1;
      } catch (err) {
        sagaSchedulerFailures.inc();
        this.logger.error(`order ${order.id}: could not drive the stalled order on (${(err as Error).message})`);
      }
    }
    if (driven) this.outbox.flush();
    return driven;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.poller.stop();
  }
}
