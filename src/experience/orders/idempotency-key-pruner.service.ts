import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { Poller } from '../../common/poller.js';
import { appConfig } from '../../config/app.config.js';
import { IdempotencyKeyRepository } from '../../order-store/idempotency-key.repository.js';
import { untraced } from '../../platform/observability/tracing.js';

/**
 * Rows per DELETE. Intake inserts into this table on every keyed POST: each chunk is one short
 * transaction over the oldest rows of the created_at index, so it never holds locks long enough to
 * stall intake, however many rows are due.
 */
export const PRUNE_CHUNK = 1000;

/**
 * Deletes Idempotency-Keys older than IDEMPOTENCY_KEY_TTL_HOURS. Intake already treats such a key as
 * absent; without this the table (and its primary key, which every keyed POST probes) grows forever.
 * Each replica running the experience layer prunes; the chunked DELETEs do not care who else does.
 */
@Injectable()
export class IdempotencyKeyPrunerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(IdempotencyKeyPrunerService.name);
  private readonly poller: Poller<number>;

  constructor(
    private readonly keys: IdempotencyKeyRepository,
    @Inject(appConfig.KEY) private readonly cfg: Pick<ConfigType<typeof appConfig>, 'idempotencyKeyTtlHours' | 'idempotencyPruneIntervalMs'>,
  ) {
    this.poller = new Poller({
      task: () => untraced(() => this.prune()),
      intervalMs: cfg.idempotencyPruneIntervalMs,
      log: this.logger,
      failureMessage: 'idempotency key pruning failed, retrying later',
    });
  }

  onApplicationBootstrap(): void {
    this.poller.start();
  }

  /** Deletes what is past the TTL, oldest first; returns how many rows. */
  async prune(): Promise<number> {
    let total = 0;
    while (!this.poller.stopped) {
      const deleted = await this.keys.deleteExpired(this.cfg.idempotencyKeyTtlHours, PRUNE_CHUNK);
      total += deleted;
      if (deleted < PRUNE_CHUNK) break;
    }
    if (total) this.logger.log(`pruned ${total} idempotency key(s) older than ${this.cfg.idempotencyKeyTtlHours} h`);
    return total;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.poller.stop();
  }
}
