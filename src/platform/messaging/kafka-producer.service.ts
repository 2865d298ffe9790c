import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { type Kafka, type Message, type Producer, type ProducerConfig, type TopicMessages } from 'kafkajs';
import { KeyPartitioner } from './key-partitioner.js';
import { KAFKA } from './messaging.tokens.js';
import { TransientError } from './transient-error.js';

/** What the producer last did, for the relay's part of the readiness body. */
export interface ProducerOutcomes {
  lastSentAt: Date | null;
  lastError: { message: string; at: Date } | null;
}

/**
 * The one producer of a process: idempotent, acks=all, one request in flight so that retries
 * never reorder an order's messages. Connects lazily and reconnects after a broker outage.
 *
 * It closes last on shutdown (`onApplicationShutdown` runs for it after the services that use it,
 * the relay and the consumers, have stopped) and never reopens: a send after that fails as transient,
 * so its rows or messages wait for the next process.
 */
@Injectable()
export class KafkaProducerService implements OnApplicationShutdown {
  private readonly logger = new Logger(KafkaProducerService.name);
  private producer: Producer | null = null;
  private connecting: Promise<Producer> | null = null;
  private closed = false;
  private readonly outcomes: ProducerOutcomes = { lastSentAt: null, lastError: null };
  /** Bumped when a send abandons the producer: a connect started before it no longer counts. */
  private generation = 0;

  constructor(@Inject(KAFKA) private readonly kafka: Kafka) {}

  /**
   * Sends and waits for every acknowledgement. With `timeoutMs`, gives up after that long (connecting
   * included) with a PublishTimeoutError and drops the producer, so the next send starts on a fresh
   * connection instead of queueing behind the hung request. An abandoned batch may still land later.
   */
  async sendBatch(topicMessages: TopicMessages[], options: SendOptions = {}): Promise<void> {
    const { timeoutMs } = options;
    if (!timeoutMs) return this.sendNow(topicMessages);
    const sending = this.sendNow(topicMessages);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PublishTimeoutError(timeoutMs)), timeoutMs);
    });
    try {
      await Promise.race([sending, expired]);
    } catch (err) {
      if (err instanceof PublishTimeoutError) {
        sending.catch(() => undefined);
        this.outcomes.lastError = { message: err.message, at: new Date() };
        this.abandon();
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private async sendNow(topicMessages: TopicMessages[]): Promise<void> {
    let producer: Producer;
    try {
      producer = await this.connected();
    } catch (err) {
      this.outcomes.lastError = { message: (err as Error).message, at: new Date() };
      throw err;
    }
    try {
      await producer.sendBatch({ topicMessages, acks: -1 });
      this.outcomes.lastSentAt = new Date();
    } catch (err) {
      this.outcomes.lastError = { message: (err as Error).message, at: new Date() };
      // Drop the producer so the next attempt starts from a fresh connection.
      await this.reset(producer);
      throw err;
    }
  }

  async send(topic: string, messages: Message[]): Promise<void> {
    await this.sendBatch([{ topic, messages }]);
  }

  /** When the last send succeeded, and the last send that failed. */
  lastOutcomes(): Readonly<ProducerOutcomes> {
    return this.outcomes;
  }

  private async connected(): Promise<Producer> {
    if (this.closed) throw new TransientError('the Kafka producer is closed: this process is shutting down');
    if (this.producer) return this.producer;
    if (!this.connecting) {
      const generation = this.generation;
      const producer = this.kafka.producer({
        ...ORDERED_PRODUCER,
        // Bounded on purpose (KafkaJS warns about it): after the last retry the relay rolls back,
        // drops this producer and sends the rows again from a new one; the consumers' inboxes drop
        // what arrives twice. Unbounded retries would hold the relay on a broker that is gone.
        retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 3000 },
      });
      this.connecting = producer
        .connect()
        .then(() => {
          if (generation !== this.generation) {
            // Abandoned while connecting: a send already gave up on this producer.
            void producer.disconnect().catch(() => undefined);
            throw new Error('the Kafka producer was abandoned while it connected');
          }
          this.producer = producer;
          return producer;
        })
        .finally(() => {
          if (generation === this.generation) this.connecting = null;
        });
    }
    return this.connecting;
  }

  /** Drops `producer` (the current one by default); a newer producer made meanwhile is kept. */
  private async reset(producer = this.producer): Promise<void> {
    if (!producer) return;
    if (this.producer === producer) this.producer = null;
    await producer.disconnect().catch((e: Error) => this.logger.debug(`disconnect: ${e.message}`));
  }

  /**
   * Forgets the producer (or the one connecting) at once. Its disconnect waits for the hung request
   * (KafkaJS lets it run to its requestTimeout), so it is not awaited.
   */
  private abandon(): void {
    this.generation += 1;
    this.connecting = null;
    void this.reset();
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    // A connection still being opened is closed too.
    await this.connecting?.catch(() => undefined);
    await this.reset();
  }
}

export interface SendOptions {
  /** Abandon the send after this many milliseconds (0 or absent: wait as long as KafkaJS retries). */
  timeoutMs?: number;
}

/** A send given up after its timeout. The broker may still take the batch: the caller sends it again. */
export class PublishTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`Kafka did not acknowledge the batch within ${timeoutMs} ms; the send was abandoned`);
    this.name = 'PublishTimeoutError';
  }
}

/**
 * Settings of every producer of the service's topics (the relay's, the DLQ replay's): idempotent,
 * one request in flight, so a partition receives messages in the order they are sent, and never
 * creating a topic. The partitioner is named rather than defaulted: murmur2 on the key, as the Java
 * client and KafkaJS's DefaultPartitioner do (KeyPartitioner computes it faster), so any producer puts
 * an order's messages in the same partition (and KafkaJS stays quiet).
 */
export const ORDERED_PRODUCER: ProducerConfig = {
  idempotent: true,
  maxInFlightRequests: 1,
  allowAutoTopicCreation: false,
  createPartitioner: KeyPartitioner,
};

/**
 * Groups messages by topic for one `sendBatch`, keeping their order inside each topic (and so inside
 * each partition): the order the caller gives is the order a consumer reads.
 */
export function groupByTopic(entries: Iterable<{ topic: string; message: Message }>): TopicMessages[] {
  const byTopic = new Map<string, TopicMessages>();
  for (const { topic, message } of entries) {
    let group = byTopic.get(topic);
    if (!group) {
      group = { topic, messages: [] };
      byTopic.set(topic, group);
    }
    group.messages.push(message);
  }
  return [...byTopic.values()];
}
