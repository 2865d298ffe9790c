import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Consumer, type IHeaders } from 'kafkajs';
import { eventually } from './eventually.js';

export interface ReadMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  headers: Record<string, string>;
  value: any;
}

function headersOf(h: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) if (v !== undefined) out[k] = Array.isArray(v) ? v.map(String).join(',') : String(v);
  return out;
}

/**
 * A real Kafka consumer in its own throw-away group that records every message of some topics,
 * the way a downstream system would read them.
 */
export class TopicReader {
  readonly messages: ReadMessage[] = [];
  private consumer: Consumer | null = null;

  constructor(private readonly topics: string[]) {}

  async start(): Promise<this> {
    const kafka = new Kafka({ clientId: 'test-reader', brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(','), logLevel: logLevel.NOTHING });
    this.consumer = kafka.consumer({ groupId: `test-reader-${randomUUID()}`, allowAutoTopicCreation: false });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.topics, fromBeginning: true });
    let assigned = false;
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
      assigned = true;
    });
    await this.consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const raw = message.value?.toString('utf8') ?? null;
        let value: unknown = raw;
        try {
          value = raw === null ? null : JSON.parse(raw);
        } catch {
          // keep the raw string
        }
        this.messages.push({ topic, partition, offset: message.offset, key: message.key?.toString('utf8') ?? null, headers: headersOf(message.headers), value });
      },
    });
    await eventually(() => assigned, Boolean, { what: `reader of ${this.topics.join(', ')} to join its group` });
    return this;
  }

  /** Messages about one order (key = orderId). */
  forOrder(orderId: string): ReadMessage[] {
    return this.messages.filter((m) => m.key === orderId);
  }

  async waitFor(predicate: (m: ReadMessage) => boolean, what: string, timeoutMs = 20000): Promise<ReadMessage> {
    return eventually(() => this.messages.find(predicate), Boolean, { what, timeoutMs }) as Promise<ReadMessage>;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}
