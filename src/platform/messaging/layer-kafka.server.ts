import { KafkaContext, ServerKafka, type KafkaOptions } from '@nestjs/microservices';
import kafkajs, { type Consumer, type EachBatchPayload, type KafkaJSErrorMetadata } from 'kafkajs';
import { isObservable, lastValueFrom } from 'rxjs';
import type { ConsumerListener, SupervisedConsumer } from './consumer-registry.service.js';
import type { MessageProcessorService } from './message-processor.service.js';

// kafkajs is CommonJS and spreads its error classes into its exports: Node cannot name them for an ESM import.
const { KafkaJSError } = kafkajs;

/** The heartbeat's answer when the group prepares to rebalance (and still takes this generation's commits). */
function isRebalanceInProgress(err: unknown): boolean {
  return (err as { type?: unknown } | null)?.type === 'REBALANCE_IN_PROGRESS';
}

/**
 * One Nest Kafka server (and so one consumer group) per consuming module. The transport id is a
 * symbol per group, so `@EventPattern(topic, TRANSPORT)` binds a handler to exactly one group and
 * any subset of groups can run in one process.
 *
 * It consumes batches rather than single messages: each fetched batch of a partition is cut into
 * transactions of at most `batchSize` messages, which the message processor runs (see
 * `MessageProcessorService.processBatch`). Handlers stay per message, bound by `@EventPattern`.
 *
 * The ConsumerRegistryService starts it and starts it again after a crash (see SupervisedConsumer);
 * Nest only uses it to bind the handlers.
 */
export class LayerKafkaServer extends ServerKafka implements SupervisedConsumer {
  /** Set while the consumer is being stopped on purpose: its STOP and DISCONNECT are expected. */
  private stopping = false;
  /** Set by drain: batches fetched from now on are left for whoever owns the partition next. */
  private draining = false;
  private readonly inFlight = new Set<Promise<void>>();
  /** The supervisor's listener for the current start. */
  private listener: ConsumerListener | null = null;

  constructor(
    public override readonly transportId: symbol,
    options: NonNullable<KafkaOptions['options']>,
    private readonly processor: MessageProcessorService,
    private readonly batchSize: number,
  ) {
    super(options);
  }

  launch(listener: ConsumerListener): Promise<void> {
    this.listener = listener;
    this.stopping = false;
    this.draining = false;
    return new Promise<void>((resolve, reject) => {
      void this.listen((err?: unknown) => (err ? reject(err) : resolve()));
    });
  }

  busy(): boolean {
    return this.inFlight.size > 0;
  }

  async drain(): Promise<void> {
    this.draining = true;
    const consumer = this.consumer as Consumer | null;
    if (consumer) {
      // No new batch for this consumer, and the ones in hand finish. (kafkajs's own stop waits for
      // them too, but leaves the group right after, before their offsets could be committed.)
      try {
        consumer.pause([...this.messageHandlers.keys()].map((topic) => ({ topic })));
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

  override async close(): Promise<void> {
    this.stopping = true;
    const [consumer, producer] = [this.consumer, this.producer];
    this.consumer = null;
    this.producer = null;
    this.client = null;
    // kafkajs leaves the group here (stop), after the batches in hand are done.
    await consumer?.disconnect().catch((err: Error) => this.logger.warn(`consumer disconnect: ${err.message}`));
    await producer?.disconnect().catch((err: Error) => this.logger.warn(`producer disconnect: ${err.message}`));
  }

  override async bindEvents(consumer: Consumer): Promise<void> {
    this.watch(consumer);
    // What this member has done and not yet committed is committed before it rejoins: otherwise the
    // partitions' next owner (often this member again) fetches it again from the last commit. The
    // broker still takes commits of the old generation while the group prepares to rebalance. The
    // heartbeat in runBatch does it first and waits for it; this covers a rebalance kafkajs sees
    // between batches (no batch is in hand then).
    consumer.on(consumer.events.REBALANCING, () => void this.processor.commitPending(consumer));
    const topics = [...this.messageHandlers.keys()];
    if (topics.length) await consumer.subscribe({ ...(this.options.subscribe ?? {}), topics });
    await consumer.run({
      ...(this.options.run ?? {}),
      // Offsets are resolved by the processor as messages are done, so a failed batch resumes at
      // the first message that is not.
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.handleBatch(consumer, payload),
    });
  }

  /** Reports the consumer's life to this start's listener. */
  private watch(consumer: Consumer): void {
    const listener = this.listener;
    if (!listener) return;
    const { GROUP_JOIN, HEARTBEAT, START_BATCH_PROCESS, END_BATCH_PROCESS, CRASH, STOP, DISCONNECT } = consumer.events;
    consumer.on(GROUP_JOIN, () => listener.joined());
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

  private async runBatch(consumer: Consumer, { batch, resolveOffset, heartbeat: beat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const heartbeat = async (): Promise<void> => {
      try {
        await beat();
      } catch (err) {
        if (isRebalanceInProgress(err)) await this.processor.commitPending(consumer);
        throw err;
      }
    };
    const { topic, partition } = batch;
    // The handler bound to the topic by @EventPattern (with Nest's pipes, guards and filters), called
    // with the raw message: the processor parses and validates it, so Nest's own per-message parse
    // and pattern lookup would only be done twice.
    const handler = this.getHandlerByPattern(topic);
    if (!handler) {
      this.logger.error(`no handler for ${topic}; skipping ${batch.messages.length} message(s)`);
      resolveOffset(batch.lastOffset());
      return;
    }
    for (let start = 0; start < batch.messages.length; start += this.batchSize) {
      // Stopping, or rebalanced/seeked away: the rest is fetched again by whoever owns the partition.
      if (!isRunning() || isStale() || this.draining) return;
      const chunk = batch.messages.slice(start, start + this.batchSize);
      await this.processor.processBatch({
        consumer,
        topic,
        partition,
        lastOffset: chunk[chunk.length - 1].offset,
        dispatch: async () => {
          for (const message of chunk) {
            const ctx = new KafkaContext([message as KafkaContext['args'][0], partition, topic, consumer, heartbeat, this.producer!]);
            const result: unknown = await handler(message.value, ctx);
            // With interceptors Nest hands back an Observable; the work is done when it completes.
            if (isObservable(result)) await lastValueFrom(result, { defaultValue: undefined });
          }
        },
        resolveOffset,
      });
      await heartbeat();
    }
  }
}
