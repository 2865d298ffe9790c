import 'reflect-metadata';
import type { Server } from 'node:http';
import { Logger, RequestMethod, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger as PinoLogger } from 'nestjs-pino';
import { AppModule } from './app.module.js';
import { appConfig, type AppLayer } from './config/app.config.js';
import { kafkaConfig, type KafkaConfig } from './config/kafka.config.js';
import { ProblemFilter } from './platform/http/problem.filter.js';
import { applyHttpSecurity } from './platform/http/security.js';
import { setupSwagger } from './platform/http/swagger.js';
import { createValidationPipe } from './platform/http/validation.js';
import { ConsumerRegistryService } from './platform/messaging/consumer-registry.service.js';
import { kafkaClientOptions } from './platform/messaging/kafka-client.js';
import { inheritOffsets } from './platform/messaging/group-offsets.js';
import { GROUP_HANDOVERS, type ConsumerGroupName } from './platform/messaging/consumer-groups.js';
import { GroupConsumer, type GroupConsumerOptions } from './platform/messaging/group-consumer.js';
import { MessageHandlerRegistry } from './platform/messaging/message-handlers.js';
import { MessageProcessorService } from './platform/messaging/message-processor.service.js';
import { TopicAdminService } from './platform/messaging/topic-admin.service.js';

/** Which consumer groups each layer runs: the process layer two (new orders, everything after), each system module its own. */
export const LAYER_GROUPS: Record<AppLayer, ConsumerGroupName[]> = {
  experience: [],
  process: ['intake', 'process'],
  system: ['inventory', 'payment', 'shipping'],
};

/** Every route lives under /api except the probes (and the docs, which Swagger mounts itself). */
export const API_PREFIX = 'api';
export const API_PREFIX_OPTIONS = {
  exclude: [
    { path: 'health/{*path}', method: RequestMethod.ALL },
    { path: 'metrics', method: RequestMethod.GET },
  ],
};

export interface CreateAppOptions {
  layers?: AppLayer[];
  /** Consumer groups to run; defaults to those of the layers that have handlers registered. */
  groups?: ConsumerGroupName[];
  bufferLogs?: boolean;
}

/** Builds the HTTP application with its consumers attached (not yet listening). */
export async function createApp(options: CreateAppOptions = {}): Promise<NestExpressApplication> {
  const app_ = appConfig();
  const layers = options.layers ?? [...app_.layers];
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(layers), {
    bufferLogs: options.bufferLogs ?? true,
    bodyParser: false,
    // Intake stops first on shutdown: a request that arrives once it has begun gets 503 (and its
    // connection closed), while those in flight finish.
    return503OnClosing: true,
  });
  applyHttpSecurity(app, app_);
  // Longer than the idle timeout of the proxy in front: with Node's 5 s default the service closes
  // kept-alive connections a proxy (or any pooling client) is about to reuse, and under load some
  // requests fail with a reset or a 502. Headers get a second more, as Node's docs advise.
  const server = app.getHttpServer() as Server;
  server.keepAliveTimeout = app_.keepAliveTimeoutMs;
  server.headersTimeout = app_.keepAliveTimeoutMs + 1000;
  app.useLogger(app.get(PinoLogger));
  app.useBodyParser('json', { limit: app_.bodyLimit, type: ['application/json', 'application/*+json'] });
  app.set('trust proxy', 1);
  app.disable('x-powered-by');
  app.setGlobalPrefix(API_PREFIX, API_PREFIX_OPTIONS);
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new ProblemFilter());
  app.enableShutdownHooks();
  setupSwagger(app);

  const groups = options.groups ?? layers.flatMap((l) => LAYER_GROUPS[l]);
  attachConsumers(app, groups);
  return app;
}

/** About 90 s of retries, at most 5 s apart, so a consumer reconnects soon after the broker is back. */
const CONSUMER_CLIENT_RETRY = { initialRetryTime: 300, maxRetryTime: 5000, retries: 20 };

const consumers = new WeakMap<INestApplication, ConsumerGroupName[]>();

/** Registers a GroupConsumer per group, running the handlers of the group found in this process's modules. */
function attachConsumers(app: INestApplication, groups: ConsumerGroupName[]): void {
  const cfg = app.get<KafkaConfig>(kafkaConfig.KEY);
  const processor = app.get(MessageProcessorService);
  const handlers = app.get(MessageHandlerRegistry);
  const registry = app.get(ConsumerRegistryService);
  for (const name of groups) {
    const consumer = new GroupConsumer(groupConsumerOptions(cfg, name, processor.groupId(name)), handlers.forGroup(name), processor);
    registry.register(processor.groupId(name), consumer);
  }
  consumers.set(app, groups);
}

function groupConsumerOptions(cfg: KafkaConfig, name: ConsumerGroupName, groupId: string): GroupConsumerOptions {
  return {
    // The client's own retries (connecting, metadata) are longer than the other clients': when
    // they run out the consumer stops, and a restarted consumer rejoins as a new member, which
    // waits out its former self's session after a broker restart. With these, a consumer rides
    // out a broker outage of about 90 s in place.
    client: { ...kafkaClientOptions(cfg, name), retry: CONSUMER_CLIENT_RETRY },
    consumer: {
      groupId,
      allowAutoTopicCreation: false,
      // How long the broker keeps a member that stopped heartbeating: the partitions of a killed or
      // hung process wait this long for another owner, and so does a consumer restarted after a
      // broker restart (it rejoins as a new member while its former self is still listed). A
      // transaction longer than this only costs a rejoin and redeliveries the inbox absorbs.
      sessionTimeout: 10000,
      heartbeatInterval: 3000,
      // A fetch waits (at most fetchMaxWaitMs) for fetchMinBytes: fewer, fuller batches, so fewer
      // transactions per message when messages trickle in (the dev latencies spread them out).
      minBytes: cfg.fetchMinBytes,
      maxWaitTimeInMs: cfg.fetchMaxWaitMs,
      // A failed batch, or a broker that is away, is retried in place after a backoff (the offset
      // is not committed): the consumer keeps its group membership, so once the broker is back it
      // runs again within a backoff instead of waiting, as a new member, for the old one's session
      // to expire. On an error kafkajs will not retry, the consumer stops: the registry then starts
      // the whole group again (kafkajs's own restart skips the errors it deems fatal).
      retry: { initialRetryTime: 300, maxRetryTime: 5000, retries: Number.MAX_SAFE_INTEGER, restartOnFailure: async () => false },
    },
    run: { autoCommit: false, partitionsConsumedConcurrently: cfg.partitionsConsumedConcurrently },
    fromBeginning: true,
    batchSize: cfg.consumerBatchSize,
  };
}

/**
 * Applies the GROUP_HANDOVERS whose new group runs here, before any consumer joins (Kafka sets only
 * an empty group's offsets). A failure only costs a re-read of the topic: logged, and the consumers
 * start anyway.
 */
async function takeOverOffsets(app: INestApplication, running: ConsumerGroupName[], logger: Logger): Promise<void> {
  const processor = app.get(MessageProcessorService);
  const { topics } = app.get<KafkaConfig>(kafkaConfig.KEY);
  for (const handover of GROUP_HANDOVERS.filter((h) => running.includes(h.to))) {
    const [topic, from, to] = [topics[handover.topic], processor.groupId(handover.from), processor.groupId(handover.to)];
    try {
      const result = await app.get(TopicAdminService).withAdmin((admin) => inheritOffsets(admin, topic, from, to));
      if ('partitions' in result) logger.log(`${to} starts on ${topic} where ${from} left off (${result.partitions} partitions)`);
      else logger.debug(`offsets of ${topic} not taken over: ${result.skipped}`);
    } catch (err) {
      logger.warn(`could not read the offsets of ${topic} (${(err as Error).message}); ${to} reads it from its own offsets or the beginning`);
    }
  }
}

/**
 * Starts every consumer group once the topics exist; resolves when each has joined its group. The
 * registry keeps them running from then on (and retries while Kafka is unreachable), so the HTTP API
 * serves (and accepts orders into the outbox) even when the broker is down at boot.
 */
export async function startConsumers(app: INestApplication): Promise<void> {
  const logger = new Logger('Consumers');
  const groups = consumers.get(app) ?? [];
  if (!groups.length) return;
  await app.get(TopicAdminService).whenTopicsReady();
  await takeOverOffsets(app, groups, logger);
  await app.get(ConsumerRegistryService).startAll();
}
