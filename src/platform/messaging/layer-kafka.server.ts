import { KafkaContext, ServerKafka, type KafkaOptions } from '@nestjs/microservices';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { isObservable, lastValueFrom } from 'rxjs';
import type { MessageProcessorService } from './message-processor.service.js';

/**
 * One Nest Kafka server (and so one consumer group) per consuming module. The transport id is a
 * symbol per group, so `@EventPattern(topic, TRANSPORT)` binds a handler to exactly one group and
 * any subset of groups can run in one process.
 *
 * It consumes batches rather than single messages: each fetched batch of a partition is cut into
 * transactions of at most `batchSize` messages, which the message processor runs (see
 * `MessageProcessorService.processBatch`). Handlers stay per message, bound by `@EventPattern`.
 */
export class LayerKafkaServer extends ServerKafka {
  constructor(
    public override readonly transportId: symbol,
    options: NonNullable<KafkaOptions['options']>,
    private readonly processor: MessageProcessorService,
    private readonly batchSize: number,
  ) {
    super(options);
  }

  override async bindEvents(consumer: Consumer): Promise<void> {
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

  private async handleBatch(consumer: Consumer, { batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
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
      if (!isRunning() || isStale()) return;
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
