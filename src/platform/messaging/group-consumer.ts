import { Logger } from '@nestjs/common';
import kafkajs, { Kafka, type Consumer, type ConsumerConfig, type ConsumerRunConfig, type EachBatchPayload, type KafkaConfig, type KafkaJSErrorMetadata } from 'kafkajs';
import { consumerRebalances } from '../observability/metrics.counters.js';
import type { ConsumerListener, SupervisedConsumer } from './consumer-registry.service.js';
import type { TopicHandler } from './message-handlers.js';
import type { MessageProcessorService } from './message-processor.service.js';

// kafkajs is CommonJS and spreads its error classes into its exports: Node cannot name them for an ESM import.
const { KafkaJSError } = kafkajs;

/** The heartbeat's answer when the group prepares to rebalance (and still takes this generation's commits). */
function isRebalanceInProgress(err: unknown): boolean {
  return (err as { type?: unknown } | null)?.type === 'REBALANCE_IN_PROGRESS';
}

export interface GroupConsumerOptions {
  client: KafkaConfig;
  consumer: ConsumerConfig;
  run: Pick<ConsumerRunConfig, 'autoCommit' | 'partitionsConsumedConcurrently'>;
  fromBeginning: boolean;
  /** The most messages handled in one transaction. */
  batchSize: number;
}

/**
 * The kafkajs consumer of one consumer group, running the group's handlers (one per topic). Each
 * fetched batch of a partition is cut into transactions of at most `batchSize` messages, which the
 * message processor runs (see `MessageProcessorService.processBatch`).
 *
 * The ConsumerRegistryService starts it, and starts it again after a crash (see SupervisedConsumer).
 */
export class GroupConsumer implements SupervisedConsumer {
  private readonly logger = new Logger(GroupConsumer.name);
  private readonly handlers: Map<string, TopicHandler>;
  private consumer: Consumer | null = null;
  /** Set while the consumer is being stopped on purpose: its STOP and DISCONNECT are expected. */
  private stopping = false;
  /** Set by drain: batches fetched from now on are left for whoever owns the partition next. */
  private draining = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly options: GroupConsumerOptions,
    handlers: TopicHandler[],
    private readonly processor: MessageProcessorService,
  ) {
    this.handlers = new Map(handlers.map((h) => [h.topic, h]));
  }

  async launch(listener: ConsumerListener): Promise<void> {
    this.stopping = false;
    this.draining = false;
    const consumer = new Kafka(this.options.client).consumer(this.options.consumer);
    this.consumer = consumer;
    await consumer.connect();
    this.watch(consumer, listener);
    await this.run(consumer);
  }

  busy(): boolean {
    return this.inFlight.size > 0;
  }

  async drain(): Promise<void> {
    this.draining = true;
    const consumer = this.consumer;
    if (consumer) {
      // No new batch for this consumer, and the ones in hand finish. (kafkajs's own stop waits for
      // them too, but leaves the group right after, before their offsets could be committed.)
      try {
        consumer.pause([...this.handlers.keys()].map((topic) => ({ topic })));
      } catch {
        // not running (it crashed, or never joined): nothing is in hand
      }
      await Promise.allSettled([...this.inFlight]);
      // Committed while still a member of the group: after it leaves, the commit is refused and the
      // next owner of the partition would get the batch again.
      await this.processor.commitPending(consumer);
    }
    await this.close();
  }

  async close(): Promise<void> {
    this.stopping = true;
    const consumer = this.consumer;
    this.consumer = null;
    // kafkajs leaves the group here (stop), after the batches in hand are done.
    await consumer?.disconnect().catch((err: Error) => this.logger.warn(`consumer disconnect: ${err.message}`));
  }

  private async run(consumer: Consumer): Promise<void> {
    // What this member has done and not yet committed is committed before it rejoins: otherwise the
    // partitions' next owner (often this member again) fetches it again from the last commit. The
    // broker still takes commits of the old generation while the group prepares to rebalance. The
    // heartbeat in runBatch does it first and waits for it; this covers a rebalance kafkajs sees
    // between batches (no batch is in hand then).
    consumer.on(consumer.events.REBALANCING, () => void this.processor.commitPending(consumer));
    const topics = [...this.handlers.keys()];
    if (topics.length) await consumer.subscribe({ topics, fromBeginning: this.options.fromBeginning });
    await consumer.run({
      ...this.options.run,
      // Offsets are resolved by the processor as messages are done, so a failed batch resumes at
      // the first message that is not.
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.handleBatch(consumer, payload),
    });
  }

  /** Reports the consumer's life to this start's listener. */
  private watch(consumer: Consumer, listener: ConsumerListener): void {
    const { GROUP_JOIN, HEARTBEAT, START_BATCH_PROCESS, END_BATCH_PROCESS, CRASH, STOP, DISCONNECT } = consumer.events;
    consumer.on(GROUP_JOIN, () => {
      // Every join is a rebalance of the group's partitions (the first one included).
      consumerRebalances.inc({ group: this.options.consumer.groupId });
      listener.joined();
    });
    for (const event of [HEARTBEAT, START_BATCH_PROCESS, END_BATCH_PROCESS]) consumer.on(event, () => listener.active());
    consumer.on(CRASH, ({ payload }) => listener.crashed(payload.error));
    // A consumer that stops without crashing (and without us asking) is gone as well. After a crash
    // kafkajs stops and disconnects before it reports the crash: give the crash a moment to say why.
    for (const event of [STOP, DISCONNECT]) {
      consumer.on(event, () => {
        if (this.stopping) return;
        setTimeout(() => listener.crashed(new Error(`the consumer reported ${event} on its own`)), 1000).unref();
      });
    }
  }

  private async handleBatch(consumer: Consumer, payload: EachBatchPayload): Promise<void> {
    // Left unresolved: fetched again by whoever owns the partition next.
    if (this.draining) return;
    const work = this.runBatch(consumer, payload);
    this.inFlight.add(work);
    try {
      await work;
    } catch (err) {
      // kafkajs stops the consumer for good on a TypeError (or any error it deems unrecoverable); every
      // failure of a handler is retried the same way instead: the batch is fetched again after a backoff.
      // Its own errors keep their meaning (a rebalance seen by a heartbeat makes it rejoin).
      if (err instanceof KafkaJSError) throw err;
      const metadata: KafkaJSErrorMetadata & { cause?: unknown } = { retriable: true, cause: err };
      throw new KafkaJSError(err as Error, metadata);
    } finally {
      this.inFlight.delete(work);
    }
  }

  private async runBatch(consumer: Consumer, { batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    const handler = this.handlers.get(topic)?.handler;
    if (!handler) {
      this.logger.error(`no handler for ${topic}; skipping ${batch.messages.length} message(s)`);
      resolveOffset(batch.lastOffset());
      return;
    }
    const beat = this.heartbeat(consumer, heartbeat);
    for (let start = 0; start < batch.messages.length; start += this.options.batchSize) {
      // Stopping, or rebalanced/seeked away: the rest is fetched again by whoever owns the partition.
      if (!isRunning() || isStale() || this.draining) return;
      const messages = batch.messages.slice(start, start + this.options.batchSize);
      await this.processor.processBatch({ consumer, topic, partition, messages, handler, resolveOffset });
      await beat();
    }
  }

  /** kafkajs's heartbeat, which first commits what is done when the group is about to rebalance. */
  private heartbeat(consumer: Consumer, beat: () => Promise<void>): () => Promise<void> {
    return async () => {
      try {
        await beat();
      } catch (err) {
        if (isRebalanceInProgress(err)) await this.processor.commitPending(consumer);
        throw err;
      }
    };
  }
}
