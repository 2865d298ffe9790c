import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { Admin, Kafka } from 'kafkajs';
import { kafkaConfig } from '../../config/kafka.config.js';
import { KAFKA } from './messaging.tokens.js';
import { topicConfigEntries } from './topic-settings.js';

/**
 * Creates the topics with their configured partition counts and settings (topic-settings.ts) at start.
 * Topics that exist already are left as they are. A broker that is down at
 * boot does not stop the service (orders are still accepted into the outbox): creation is retried
 * in the background until it succeeds.
 */
@Injectable()
export class TopicAdminService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(TopicAdminService.name);
  private admin: Admin | null = null;
  private stopped = false;
  private topicsReady = false;
  private readyWaiters: Array<() => void> = [];

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(kafkaConfig.KEY) private readonly cfg: ConfigType<typeof kafkaConfig>,
  ) {}

  onApplicationBootstrap(): void {
    void this.ensureTopicsWithRetry();
  }

  /** Resolves once every topic exists (immediately when topic creation is switched off). */
  whenTopicsReady(): Promise<void> {
    if (this.topicsReady) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /**
   * Runs `work` with this process's one admin client (connected on first use). After a failure the
   * client is dropped, so the next call starts from a fresh connection.
   */
  async withAdmin<T>(work: (admin: Admin) => Promise<T>): Promise<T> {
    try {
      return await work(await this.connectedAdmin());
    } catch (err) {
      await this.resetAdmin();
      throw err;
    }
  }

  async ensureTopics(): Promise<void> {
    await this.withAdmin(async (admin) => {
      const wanted = [...new Set(Object.values(this.cfg.topics))];
      const existing = new Set(await admin.listTopics());
      const missing = wanted.filter((t) => !existing.has(t));
      if (missing.length) {
        const settings = { replicationFactor: this.cfg.replicationFactor, dlqTopic: this.cfg.topics.dlq, dlqRetentionHours: this.cfg.dlqRetentionHours };
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((topic) => ({
            topic,
            numPartitions: this.cfg.partitions,
            replicationFactor: this.cfg.replicationFactor,
            configEntries: topicConfigEntries(topic, settings),
          })),
        });
        this.logger.log(`created topics ${missing.join(', ')} with ${this.cfg.partitions} partitions`);
      }
    });
  }

  private async ensureTopicsWithRetry(): Promise<void> {
    let delay = 500;
    while (!this.stopped && this.cfg.createTopics) {
      try {
        await this.ensureTopics();
        break;
      } catch (err) {
        this.logger.warn(`topics not ready yet (${(err as Error).message}); retrying in ${delay} ms`);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 10000);
      }
    }
    this.topicsReady = true;
    this.readyWaiters.splice(0).forEach((resolve) => resolve());
  }

  private async connectedAdmin(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin({ retry: { retries: 1, initialRetryTime: 200 } });
      await admin.connect();
      this.admin = admin;
    }
    return this.admin;
  }

  private async resetAdmin(): Promise<void> {
    const admin = this.admin;
    this.admin = null;
    await admin?.disconnect().catch(() => undefined);
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    await this.resetAdmin();
  }
}
