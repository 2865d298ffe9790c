import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { DataSource } from 'typeorm';
import { Poller } from '../../common/poller.js';
import { simulationConfig } from '../../config/simulation.config.js';
import { newEnvelope, type Envelope } from '../../contracts/envelope.js';
import { correlation } from '../../platform/observability/correlation.js';
import { OutboxService } from '../../platform/messaging/outbox.service.js';
import { untraced } from '../../platform/observability/tracing.js';
import { ShipmentRepository, type DueShipment } from './shipment.repository.js';
import { shipmentView } from './shipping.service.js';

/** The `ShipmentStatusChanged {DELIVERED}` of one claimed shipment. */
function deliveredEvent(d: DueShipment, at: Date): Envelope {
  return newEnvelope('ShipmentStatusChanged', d.orderId, shipmentView({ ...d, status: 'DELIVERED' }), { correlationId: d.correlationId ?? d.orderId }, at);
}

/**
 * Marks shipments DELIVERED once their `deliver_after` has passed and publishes
 * `ShipmentStatusChanged {DELIVERED}` through the outbox. Runs in every process that runs the
 * shipping module; replicas share the work by claiming rows with `FOR UPDATE SKIP LOCKED`.
 */
@Injectable()
export class DeliveryScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DeliveryScheduler.name);
  private readonly poller: Poller<number>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxService,
    private readonly shipments: ShipmentRepository,
    @Inject(simulationConfig.KEY) private readonly cfg: ConfigType<typeof simulationConfig>,
  ) {
    const { deliveryIntervalMs, deliveryBatchSize } = cfg.shipping;
    this.poller = new Poller({
      task: () => untraced(() => this.deliverDue()),
      intervalMs: deliveryIntervalMs,
      firstDelayMs: 0,
      // A full batch means more is due: go again at once.
      runAgainAtOnce: (delivered) => delivered >= deliveryBatchSize,
      log: this.logger,
      failureMessage: `delivery pass failed, retrying in ${deliveryIntervalMs} ms`,
    });
  }

  onApplicationBootstrap(): void {
    this.poller.start();
  }

  /** One pass: delivers what is due (at most one batch) and returns how many shipments it delivered. */
  async deliverDue(now: Date = new Date()): Promise<number> {
    // A cheap look first: no transaction (and no locks) while nothing is due.
    if (!(await this.shipments.anyDue(now))) return 0;
    // READ COMMITTED: the claim and the update lock the claimed rows only, no gaps. Under REPEATABLE
    // READ the claim's range scan gap-locked the status index, so the shipping module's inserts of new
    // shipments waited on it while the update waited on their rows: deadlocks under load.
    const delivered = await this.dataSource.transaction('READ COMMITTED', async (tx) => {
      const due = await this.shipments.claimDue(tx, now, this.cfg.shipping.deliveryBatchSize);
      if (!due.length) return [];
      const at = new Date();
      await this.shipments.markDelivered(
        tx,
        due,
        due.map((d) => deliveredEvent(d, at)),
        at,
      );
      return due;
    });
    for (const d of delivered) {
      correlation.run({ correlationId: d.correlationId ?? d.orderId, orderId: d.orderId }, () => this.logger.log(`order ${d.orderId}: shipment ${d.trackingNumber} delivered`));
    }
    if (delivered.length) this.outbox.flush();
    return delivered.length;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.poller.stop();
  }
}
