import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { DataSource } from 'typeorm';
import { kafkaConfig } from '../../config/kafka.config.js';
import { affectedRows } from '../database/sql-batch.js';

/** Rows per DELETE: short transactions, few locks, however far behind the pruner is. */
const CHUNK = 5000;

/**
 * Deletes inbox rows (`processed_messages`) older than INBOX_RETENTION_HOURS. A duplicate can only
 * come from a redelivery or a replay of what Kafka still holds, so older rows protect nothing; they
 * only grow the table and the index every consumed message writes to (which then no longer fits the
 * buffer pool). Each replica prunes; the chunked DELETEs do not care who else does.
 */
@Injectable()
export class InboxPrunerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(InboxPrunerService.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = false;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(kafkaConfig.KEY) private readonly cfg: ConfigType<typeof kafkaConfig>,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule(this.cfg.inboxPruneIntervalMs);
  }

  /** Deletes what is past the retention; returns how many rows. */
  async prune(): Promise<number> {
    let total = 0;
    // The record of dead-lettered messages (which the saga reads as "taken") ages like the inbox.
    for (const [table, column] of [
      ['processed_messages', 'processed_at'],
      ['dead_lettered_messages', 'dead_lettered_at'],
    ]) {
      while (!this.stopped) {
        // The database's clock, the one that stamped the rows.
        const result = await this.dataSource.query(`DELETE FROM ${table} WHERE ${column} < NOW(3) - INTERVAL ? HOUR LIMIT ?`, [this.cfg.inboxRetentionHours, CHUNK]);
        const deleted = affectedRows(result);
        total += deleted;
        if (deleted < CHUNK) break;
      }
    }
    if (total) this.logger.log(`pruned ${total} inbox row(s) older than ${this.cfg.inboxRetentionHours} h`);
    return total;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.prune()
        .catch((err: Error) => this.logger.warn(`inbox pruning failed, retrying later: ${err.message}`))
        .finally(() => {
          this.running = null;
          this.schedule(this.cfg.inboxPruneIntervalMs);
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
