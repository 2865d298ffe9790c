import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { DataSource } from 'typeorm';
import { Poller } from '../../common/poller.js';
import { kafkaConfig } from '../../config/kafka.config.js';
import { affectedRows } from '../database/sql-batch.js';
import { untraced } from '../observability/tracing.js';

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
  private readonly poller: Poller<number>;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(kafkaConfig.KEY) private readonly cfg: ConfigType<typeof kafkaConfig>,
  ) {
    this.poller = new Poller({
      task: () => untraced(() => this.prune()),
      intervalMs: cfg.inboxPruneIntervalMs,
      log: this.logger,
      failureMessage: 'inbox pruning failed, retrying later',
    });
  }

  onApplicationBootstrap(): void {
    this.poller.start();
  }

  /** Deletes what is past the retention; returns how many rows. */
  async prune(): Promise<number> {
    let total = 0;
    // The record of dead-lettered messages (which the saga reads as "taken") ages like the inbox.
    for (const [table, column] of [
      ['processed_messages', 'processed_at'],
      ['dead_lettered_messages', 'dead_lettered_at'],
    ]) {
      while (!this.poller.stopped) {
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

  async onApplicationShutdown(): Promise<void> {
    await this.poller.stop();
  }
}
