import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import type { ConfigType } from '@nestjs/config';
import { kafkaConfig } from '../../config/kafka.config.js';
import { ConsumerRegistryService } from './consumer-registry.service.js';
import { InboxPrunerService } from './inbox-pruner.service.js';
import { createKafka } from './kafka-client.js';
import { KafkaProducerService } from './kafka-producer.service.js';
import { MessageHandlerRegistry } from './message-handlers.js';
import { MessageProcessorService } from './message-processor.service.js';
import { KAFKA } from './messaging.tokens.js';
import { OutboxRelayService } from './outbox-relay.service.js';
import { OutboxService } from './outbox.service.js';
import { TopicAdminService } from './topic-admin.service.js';

/** Kafka plumbing shared by every layer: producer, outbox and relay, inbox processing and the message handlers' registry, DLQ, topics. */
@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [
    { provide: KAFKA, inject: [kafkaConfig.KEY], useFactory: (cfg: ConfigType<typeof kafkaConfig>) => createKafka(cfg, 'app') },
    KafkaProducerService,
    OutboxRelayService,
    OutboxService,
    TopicAdminService,
    MessageProcessorService,
    MessageHandlerRegistry,
    ConsumerRegistryService,
    InboxPrunerService,
  ],
  exports: [KAFKA, KafkaProducerService, OutboxService, OutboxRelayService, TopicAdminService, MessageProcessorService, MessageHandlerRegistry, ConsumerRegistryService],
})
export class MessagingModule {}
