import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Partitioners, type Kafka, type Message, type Producer, type ProducerConfig, type TopicMessages } from 'kafkajs';
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

  constructor(@Inject(KAFKA) private readonly kafka: Kafka) {}

  async sendBatch(topicMessages: TopicMessages[]): Promise<void> {
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
      await this.reset();
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
          this.producer = producer;
          return producer;
        })
        .finally(() => {
          this.connecting = null;
        });
    }
    return this.connecting;
  }

  private async reset(): Promise<void> {
    const producer = this.producer;
    this.producer = null;
    if (producer) await producer.disconnect().catch((e: Error) => this.logger.debug(`disconnect: ${e.message}`));
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    // A connection still being opened is closed too.
    await this.connecting?.catch(() => undefined);
    await this.reset();
  }
}

/**
 * Settings of every producer of the service's topics (the relay's, the DLQ replay's): idempotent,
 * one request in flight, so a partition receives messages in the order they are sent, and never
 * creating a topic. The partitioner is named rather than defaulted: murmur2 on the key, as the Java
 * client does, so any producer puts an order's messages in the same partition (and KafkaJS stays quiet).
 */
export const ORDERED_PRODUCER: ProducerConfig = {
  idempotent: true,
  maxInFlightRequests: 1,
  allowAutoTopicCreation: false,
  createPartitioner: Partitioners.DefaultPartitioner,
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
