import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { DataSource } from 'typeorm';
import { Poller } from '../../common/poller.js';
import { simulationConfig } from '../../config/simulation.config.js';
import { newEnvelope } from '../../contracts/envelope.js';
import { affectedRows, keyTable, SqlBatch } from '../../platform/database/sql-batch.js';
import { correlation } from '../../platform/observability/correlation.js';
import { OutboxService } from '../../platform/messaging/outbox.service.js';
import { shipmentView } from './shipping.service.js';

interface DueRow {
  id: string;
  order_id: string;
  correlation_id: string | null;
  carrier: string;
  tracking_number: string;
  estimated_delivery: Date | string;
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
    @Inject(simulationConfig.KEY) private readonly cfg: ConfigType<typeof simulationConfig>,
  ) {
    const { deliveryIntervalMs, deliveryBatchSize } = cfg.shipping;
    this.poller = new Poller({
      task: () => this.deliverDue(),
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
    const [{ n }] = await this.dataSource.query(`SELECT COUNT(*) AS n FROM shipments WHERE status = 'IN_TRANSIT' AND deliver_after <= ?`, [now]);
    if (Number(n) === 0) return 0;
    // READ COMMITTED: the claim and the update lock the claimed rows only, no gaps. Under REPEATABLE
    // READ the claim's range scan gap-locked the status index, so the shipping module's inserts of new
    // shipments waited on it while the update waited on their rows: deadlocks under load.
    const delivered = await this.dataSource.transaction('READ COMMITTED', async (tx) => {
      // Claim, then mark and announce every claimed shipment in one more round trip.
      const due: DueRow[] = await tx.query(
        `SELECT id, order_id, correlation_id, carrier, tracking_number, estimated_delivery FROM shipments
         WHERE status = 'IN_TRANSIT' AND deliver_after <= ? ORDER BY deliver_after LIMIT ? FOR UPDATE SKIP LOCKED`,
        [now, this.cfg.shipping.deliveryBatchSize],
      );
      if (!due.length) return [];
      const at = new Date();
      const batch = new SqlBatch();
      const marked = batch.add(`UPDATE ${keyTable('k')} STRAIGHT_JOIN shipments s ON s.id = k.id SET s.status = 'DELIVERED', s.updated_at = ? WHERE s.status = 'IN_TRANSIT'`, [
        JSON.stringify(due.map((d) => d.id)),
        at,
      ]);
      const envelopes = due.map((d) =>
        newEnvelope(
          'ShipmentStatusChanged',
          d.order_id,
          shipmentView({ id: d.id, carrier: d.carrier, trackingNumber: d.tracking_number, estimatedDelivery: new Date(d.estimated_delivery), status: 'DELIVERED' }),
          { correlationId: d.correlation_id ?? d.order_id },
          at,
        ),
      );
      this.outbox.stage(batch, envelopes);
      const results = await batch.run(tx);
      // The rows are locked by this transaction: they cannot have changed since the claim.
      if (affectedRows(results[marked]) !== due.length) throw new Error(`delivery claimed ${due.length} shipments but marked ${affectedRows(results[marked])}`);
      return due;
    });
    for (const d of delivered) {
      correlation.run({ correlationId: d.correlation_id ?? d.order_id, orderId: d.order_id }, () =>
        this.logger.log(`order ${d.order_id}: shipment ${d.tracking_number} delivered`),
      );
    }
    if (delivered.length) this.outbox.flush();
    return delivered.length;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.poller.stop();
  }
}
