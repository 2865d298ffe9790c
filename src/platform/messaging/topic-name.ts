import { kafkaConfig, type TopicKey } from '../../config/kafka.config.js';

/**
 * The configured name of a topic, for `@EventPattern` decorators, which are evaluated when the
 * module is imported: importing the configuration has loaded `.env` by then (config/env.ts).
 */
export function topicName(key: TopicKey): string {
  return kafkaConfig().topics[key];
}
