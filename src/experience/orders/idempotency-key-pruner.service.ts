import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { appConfig } from '../../config/app.config.js';
import { IdempotencyKeyRepository } from '../../order-store/idempotency-key.repository.js';

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
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = false;

  constructor(
    private readonly keys: IdempotencyKeyRepository,
    @Inject(appConfig.KEY) private readonly cfg: Pick<ConfigType<typeof appConfig>, 'idempotencyKeyTtlHours' | 'idempotencyPruneIntervalMs'>,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule(this.cfg.idempotencyPruneIntervalMs);
  }

  /** Deletes what is past the TTL, oldest first; returns how many rows. */
  async prune(): Promise<number> {
    let total = 0;
    while (!this.stopped) {
      const deleted = await this.keys.deleteExpired(this.cfg.idempotencyKeyTtlHours, PRUNE_CHUNK);
      total += deleted;
      if (deleted < PRUNE_CHUNK) break;
    }
    if (total) this.logger.log(`pruned ${total} idempotency key(s) older than ${this.cfg.idempotencyKeyTtlHours} h`);
    return total;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.prune()
        .catch((err: Error) => this.logger.warn(`idempotency key pruning failed, retrying later: ${err.message}`))
        .finally(() => {
          this.running = null;
          this.schedule(this.cfg.idempotencyPruneIntervalMs);
        });
    }, delayMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
