import { kafkaConfig, type TopicKey } from '../../config/kafka.config.js';

/**
 * The configured name of a topic, for `@EventPattern` decorators, which are evaluated when the
 * module is imported: main.ts loads the environment before it imports the application.
 */
export function topicName(key: TopicKey): string {
  return kafkaConfig().topics[key];
}
