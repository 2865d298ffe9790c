import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { Consumer } from 'kafkajs';
import { kafkaConfig, type KafkaConfig } from '../../../config/kafka.config.js';
import { orderEventsConfig } from '../../../config/order-events.config.js';
import { newId } from '../../../contracts/ids.js';
import { createKafka } from '../../../platform/messaging/kafka-client.js';
import { TopicAdminService } from '../../../platform/messaging/topic-admin.service.js';
import { OrderStreamsService } from './order-streams.service.js';

/** How long to wait before connecting again after the notifier could not start or crashed. */
const RESTART_DELAY_MS = 5000;

/**
 * Until a starting consumer has joined its group and found its offsets, no change is announced: the
 * streams' safety poll runs this often meanwhile (one query for every order with open streams), and on
 * for a while after the join, which comes before the consumer has looked up the latest offsets.
 */
const CATCH_UP_POLL_MS = 500;
const CATCH_UP_AFTER_JOIN_MS = 1000;

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
 *
 * It runs only while this process has open streams (ADR 0014): it starts with the first one and stops
 * SSE_NOTIFIER_IDLE_MS after the last one closed. A process nobody streams from reads nothing of the
 * two topics, the busiest of the system.
 */
@Injectable()
export class OrderChangeNotifier implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(OrderChangeNotifier.name);
  private consumer: Consumer | null = null;
  /** Between the first stream's opening and the idle stop (or shutdown): a consumer runs or is being started. */
  private active = false;
  private destroyed = false;
  private restart: NodeJS.Timeout | undefined;
  private idleStop: NodeJS.Timeout | undefined;
  private catchUp: NodeJS.Timeout | undefined;
  private catchUpEnd: NodeJS.Timeout | undefined;
  private announcing: Promise<void> = Promise.resolve();
  /** Bumped by every stop: a start begun before it (still waiting for the topics) gives up. */
  private generation = 0;

  constructor(
    private readonly streams: OrderStreamsService,
    private readonly topicAdmin: TopicAdminService,
    @Inject(kafkaConfig.KEY) private readonly cfg: KafkaConfig,
    @Inject(orderEventsConfig.KEY) private readonly events: ConfigType<typeof orderEventsConfig>,
  ) {}

  onApplicationBootstrap(): void {
    this.streams.onDemand((wanted) => (wanted ? this.want() : this.release()));
  }

  async onModuleDestroy(): Promise<void> {
    this.destroyed = true;
    await this.stop();
  }

  /** Whether a consumer runs or is being started (it stops a while after the last stream closed). */
  get consuming(): boolean {
    return this.active;
  }

  /** Resolves once the consumer started for the open streams announces every change (the catch-up polls have ended). */
  whenAnnouncing(): Promise<void> {
    return this.announcing;
  }

  /** A stream opened while none was: start, or keep, the consumer. */
  private want(): void {
    clearTimeout(this.idleStop);
    if (this.active || this.destroyed) return;
    this.active = true;
    let markAnnouncing!: () => void;
    this.announcing = new Promise<void>((resolve) => (markAnnouncing = resolve));
    this.pollUntilJoined();
    void this.start(markAnnouncing);
  }

  /** The last stream closed: stop after the idle time, unless another opens first. */
  private release(): void {
    clearTimeout(this.idleStop);
    this.idleStop = setTimeout(() => void this.stop(), this.events.notifierIdleMs);
    this.idleStop.unref();
  }

  /** No change is announced until a consumer has joined: the streams poll their logs meanwhile. */
  private pollUntilJoined(): void {
    clearInterval(this.catchUp);
    clearTimeout(this.catchUpEnd);
    this.catchUp = setInterval(() => void this.streams.poll(), CATCH_UP_POLL_MS);
    this.catchUp.unref();
  }

  /** Joined: the polls go on until the consumer surely reads from the latest offsets, then end. */
  private joined(markAnnouncing: () => void): void {
    clearTimeout(this.catchUpEnd);
    this.catchUpEnd = setTimeout(() => {
      clearInterval(this.catchUp);
      void this.streams.poll();
      markAnnouncing();
    }, CATCH_UP_AFTER_JOIN_MS);
    this.catchUpEnd.unref();
  }

  private async stop(): Promise<void> {
    this.active = false;
    this.generation += 1;
    clearTimeout(this.idleStop);
    clearTimeout(this.restart);
    clearInterval(this.catchUp);
    clearTimeout(this.catchUpEnd);
    const consumer = this.consumer;
    this.consumer = null;
    await consumer?.disconnect().catch((err: Error) => this.logger.warn(`notifier disconnect: ${err.message}`));
  }

  private async start(markAnnouncing: () => void): Promise<void> {
    const generation = this.generation;
    await this.topicAdmin.whenTopicsReady();
    // Stopped meanwhile (every stop bumps the generation, and a later start has its own).
    if (generation !== this.generation) return;
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
      // Stopped while connecting: stop's disconnect may have come before the connection.
      if (this.consumer !== consumer) return void (await consumer.disconnect());
      consumer.on(consumer.events.GROUP_JOIN, () => this.joined(markAnnouncing));
      // kafkajs restarts the consumer itself after a crash it deems retriable.
      consumer.on(consumer.events.CRASH, ({ payload }) => payload.restart || this.startLater(consumer, markAnnouncing, `crashed: ${payload.error.message}`));
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
      this.startLater(consumer, markAnnouncing, `could not start: ${(err as Error).message}`);
    }
  }

  /** Starts a new consumer after a delay; the streams poll their logs meanwhile. */
  private startLater(failed: Consumer, markAnnouncing: () => void, why: string): void {
    void failed.disconnect().catch(() => undefined);
    // Stopped meanwhile (or already replaced): nothing to restart.
    if (!this.active || this.consumer !== failed) return;
    this.logger.warn(`order change notifier ${why}; starting again in ${RESTART_DELAY_MS} ms`);
    this.consumer = null;
    this.pollUntilJoined();
    clearTimeout(this.restart);
    this.restart = setTimeout(() => void this.start(markAnnouncing), RESTART_DELAY_MS);
    this.restart.unref();
  }
}
