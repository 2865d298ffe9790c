import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { DataSource } from 'typeorm';
import { simulationConfig } from '../../config/simulation.config.js';
import { correlation } from '../../platform/observability/correlation.js';
import { OutboxService } from '../../platform/messaging/outbox.service.js';
import { ShipmentEntity } from './shipment.entity.js';
import { shipmentView } from './shipping.service.js';

interface DueRow {
  id: string;
}

/**
 * Marks shipments DELIVERED once their `deliver_after` has passed and publishes
 * `ShipmentStatusChanged {DELIVERED}` through the outbox. Runs in every process that runs the
 * shipping module; replicas share the work by claiming rows with `FOR UPDATE SKIP LOCKED`.
 */
@Injectable()
export class DeliveryScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DeliveryScheduler.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxService,
    @Inject(simulationConfig.KEY) private readonly cfg: ConfigType<typeof simulationConfig>,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule(0);
  }

  /** One pass: delivers what is due (at most one batch) and returns how many shipments it delivered. */
  async deliverDue(now: Date = new Date()): Promise<number> {
    // A cheap look first: no transaction (and no locks) while nothing is due.
    const [{ n }] = await this.dataSource.query(`SELECT COUNT(*) AS n FROM shipments WHERE status = 'IN_TRANSIT' AND deliver_after <= ?`, [now]);
    if (Number(n) === 0) return 0;
    const delivered = await this.dataSource.transaction(async (tx) => {
      const due: DueRow[] = await tx.query(`SELECT id FROM shipments WHERE status = 'IN_TRANSIT' AND deliver_after <= ? ORDER BY deliver_after LIMIT ? FOR UPDATE SKIP LOCKED`, [
        now,
        this.cfg.shipping.deliveryBatchSize,
      ]);
      const done: ShipmentEntity[] = [];
      for (const { id } of due) {
        const shipment = await tx.findOneByOrFail(ShipmentEntity, { id });
        shipment.status = 'DELIVERED';
        shipment.updatedAt = new Date();
        await tx.update(ShipmentEntity, { id, status: 'IN_TRANSIT' }, { status: 'DELIVERED', updatedAt: shipment.updatedAt });
        const correlationId = shipment.correlationId ?? shipment.orderId;
        await this.outbox.enqueue(tx, 'ShipmentStatusChanged', shipment.orderId, shipmentView(shipment), { correlationId });
        done.push(shipment);
      }
      return done;
    });
    for (const s of delivered) {
      correlation.run({ correlationId: s.correlationId ?? s.orderId, orderId: s.orderId }, () => this.logger.log(`order ${s.orderId}: shipment ${s.trackingNumber} delivered`));
    }
    if (delivered.length) this.outbox.flush();
    return delivered.length;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.pass().finally(() => {
        this.running = null;
      });
    }, delayMs);
    this.timer.unref();
  }

  private async pass(): Promise<void> {
    let next = this.cfg.shipping.deliveryIntervalMs;
    try {
      // A full batch means more is due: go again at once.
      if ((await this.deliverDue()) >= this.cfg.shipping.deliveryBatchSize) next = 0;
    } catch (err) {
      this.logger.warn(`delivery pass failed, retrying in ${next} ms: ${(err as Error).message}`);
    }
    this.schedule(next);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }
}
