import { Logger } from '@nestjs/common';
import { Kafka, logLevel, type KafkaConfig as KafkaJsConfig, type LogEntry } from 'kafkajs';
import type { KafkaConfig } from '../../config/kafka.config.js';

/** kafkajs logs through Nest's logger (and so as JSON with the rest). */
function logCreator() {
  const logger = new Logger('kafkajs');
  return ({ level, log }: LogEntry) => {
    const { message, ...extra } = log;
    const text = `${message} ${JSON.stringify(extra)}`;
    if (level === logLevel.ERROR) logger.error(text);
    else if (level === logLevel.WARN) logger.warn(text);
    else logger.debug(text);
  };
}

/** Connection settings (brokers, TLS, SASL) shared by every producer, consumer and admin client. */
export function kafkaClientOptions(cfg: KafkaConfig, clientIdSuffix: string): KafkaJsConfig {
  return {
    clientId: `${cfg.clientId}-${clientIdSuffix}`,
    brokers: cfg.brokers,
    ssl: cfg.ssl,
    sasl: cfg.sasl as KafkaJsConfig['sasl'],
    connectionTimeout: 3000,
    requestTimeout: 10000,
    logLevel: logLevel.WARN,
    logCreator,
    retry: { initialRetryTime: 200, maxRetryTime: 5000, retries: 5 },
  };
}

export function createKafka(cfg: KafkaConfig, clientIdSuffix: string): Kafka {
  return new Kafka(kafkaClientOptions(cfg, clientIdSuffix));
}
