import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { DiscoveryService } from '@nestjs/core';
import type { EntityManager } from 'typeorm';
import { kafkaConfig, type TopicKey } from '../../config/kafka.config.js';
import type { TypedEnvelope } from '../../contracts/envelope.js';
import type { EventType } from '../../contracts/messages.js';
import type { ConsumerGroupName } from './consumer-groups.js';

export type { TypedEnvelope } from '../../contracts/envelope.js';

/**
 * What a consumer group does with one topic: the event types it expects there (anything else is
 * dead-lettered), those among them it has nothing to do with (validated, then passed over without
 * touching the database), and the work for the rest. `handleBatch` gets the fresh messages of a
 * batch in offset order, inside the batch's transaction, so it can read and write for all of them
 * in a few round trips; a message run alone is a batch of one.
 */
export interface MessageHandler<T extends EventType = EventType, I extends T = never> {
  group: ConsumerGroupName;
  topic: TopicKey;
  accepts: readonly T[];
  ignores: readonly I[];
  handleBatch(messages: Array<TypedEnvelope<Exclude<T, I>>>, tx: EntityManager): Promise<void>;
}

/** A handler as the pipeline runs it: the types it was declared with are checked where it is declared. */
export type AnyMessageHandler = Omit<MessageHandler<EventType>, 'ignores'> & { ignores: readonly EventType[] };

/** Declares a handler; `ignores` defaults to none, and `handleBatch` is typed by what is left of `accepts`. */
export function messageHandler<T extends EventType, I extends T = never>(spec: Omit<MessageHandler<T, I>, 'ignores'> & { ignores?: readonly I[] }): AnyMessageHandler {
  return { ignores: [], ...spec } as unknown as AnyMessageHandler;
}

/** A provider whose `handlers` the registry runs. */
export interface MessageConsumer {
  readonly handlers: readonly AnyMessageHandler[];
}

/** Marks a provider as a MessageConsumer, so the registry finds it among the modules of this process. */
export const MessageConsumer = DiscoveryService.createDecorator<void>();

/** A handler with its topic's configured name. */
export interface TopicHandler {
  topic: string;
  handler: AnyMessageHandler;
}

/**
 * Every message handler of the modules this process runs, by consumer group. Topic names are read
 * from the configuration when the registry is built, not when modules load.
 */
@Injectable()
export class MessageHandlerRegistry {
  private byGroup: Map<ConsumerGroupName, TopicHandler[]> | null = null;

  constructor(
    private readonly discovery: DiscoveryService,
    @Inject(kafkaConfig.KEY) private readonly cfg: ConfigType<typeof kafkaConfig>,
  ) {}

  /** The group's handlers, one per topic. */
  forGroup(group: ConsumerGroupName): TopicHandler[] {
    this.byGroup ??= this.build();
    return this.byGroup.get(group) ?? [];
  }

  private build(): Map<ConsumerGroupName, TopicHandler[]> {
    const byGroup = new Map<ConsumerGroupName, TopicHandler[]>();
    const consumers = this.discovery.getProviders({ metadataKey: MessageConsumer.KEY }).map((wrapper) => wrapper.instance as MessageConsumer);
    for (const handler of consumers.flatMap((c) => c.handlers)) {
      const list = byGroup.get(handler.group) ?? [];
      const topic = this.cfg.topics[handler.topic];
      if (list.some((h) => h.topic === topic)) throw new Error(`two handlers for ${topic} in consumer group ${handler.group}`);
      list.push({ topic, handler });
      byGroup.set(handler.group, list);
    }
    return byGroup;
  }
}
