import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Consumer } from 'kafkajs';
import { kafkaConfig, type KafkaConfig } from '../../../config/kafka.config.js';
import { newId } from '../../../contracts/ids.js';
import { createKafka } from '../../../platform/messaging/kafka-client.js';
import { TopicAdminService } from '../../../platform/messaging/topic-admin.service.js';
import { OrderStreamsService } from './order-streams.service.js';

/** How long to wait before connecting again after the notifier could not start or crashed. */
const RESTART_DELAY_MS = 5000;

/**
 * The notifier's fetches: the broker answers once 64 KiB are there or 100 ms have passed. With
 * kafkajs's defaults (1 byte) every fetch returned at once with the few messages of that instant, so at
 * 200 orders/s (about 2,000 messages/s on the two topics) the process and the broker served hundreds of
 * fetches a second for hints; now about ten. A hint is at most 100 ms later, and the stream reads the
 * database anyway.
 */
const FETCH_MIN_BYTES = 64 * 1024;
const FETCH_MAX_WAIT_MS = 100;

/**
 * Tells this process's streams that an order changed, whichever replica changed it: a consumer of
 * `order-status` (status changes) and `shipping-updates` (shipment changes) in a group of this process
 * alone, so every process sees every message. It starts at the latest offsets and commits nothing: the
 * message is only a hint (the stream reads the event log), and whatever it misses while away, the
 * streams' safety poll finds (ADR 0010).
 */
@Injectable()
export class OrderChangeNotifier implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(OrderChangeNotifier.name);
  private consumer: Consumer | null = null;
  private stopped = false;
  private restart: NodeJS.Timeout | undefined;
  private markJoined!: () => void;
  /** Resolves once the consumer first joined its group: from then on, changes are announced. */
  readonly joined = new Promise<void>((resolve) => (this.markJoined = resolve));

  constructor(
    private readonly streams: OrderStreamsService,
    private readonly topicAdmin: TopicAdminService,
    @Inject(kafkaConfig.KEY) private readonly cfg: KafkaConfig,
  ) {}

  onApplicationBootstrap(): void {
    void this.start();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restart);
    await this.consumer?.disconnect().catch((err: Error) => this.logger.warn(`notifier disconnect: ${err.message}`));
    this.consumer = null;
  }

  private async start(): Promise<void> {
    await this.topicAdmin.whenTopicsReady();
    if (this.stopped) return;
    const groupId = `${this.cfg.groupPrefix}-status-streams-${newId()}`;
    const consumer = createKafka(this.cfg, 'status-streams').consumer({
      groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: 10000,
      heartbeatInterval: 3000,
      minBytes: FETCH_MIN_BYTES,
      maxWaitTimeInMs: FETCH_MAX_WAIT_MS,
    });
    this.consumer = consumer;
    try {
      await consumer.connect();
      consumer.on(consumer.events.GROUP_JOIN, () => this.markJoined());
      // kafkajs restarts the consumer itself after a crash it deems retriable.
      consumer.on(consumer.events.CRASH, ({ payload }) => payload.restart || this.startLater(`crashed: ${payload.error.message}`));
      await consumer.subscribe({ topics: [this.cfg.topics.orderStatus, this.cfg.topics.shippingUpdates], fromBeginning: false });
      await consumer.run({
        autoCommit: false,
        // The key of every message is its orderId (src/contracts/topics.ts). A status change is in the log
        // before it is published; a shipment's progress is written by the saga once it reads the message.
        eachBatch: async ({ batch }) => {
          const soon = batch.topic === this.cfg.topics.shippingUpdates;
          for (const message of batch.messages) if (message.key) this.streams.notify(message.key.toString(), soon);
        },
      });
    } catch (err) {
      this.startLater(`could not start: ${(err as Error).message}`);
    }
  }

  /** Starts a new consumer after a delay (streams meanwhile rely on the safety poll). */
  private startLater(why: string): void {
    if (this.stopped) return;
    this.logger.warn(`order change notifier ${why}; starting again in ${RESTART_DELAY_MS} ms`);
    const old = this.consumer;
    this.consumer = null;
    void old?.disconnect().catch(() => undefined);
    clearTimeout(this.restart);
    this.restart = setTimeout(() => void this.start(), RESTART_DELAY_MS);
    this.restart.unref();
  }
}
