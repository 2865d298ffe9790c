import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { startTestApp, type TestApp } from '../../support/test-app.js';

/** Kafka's DescribeConfigs source of a setting made on the topic itself (not inherited from the broker). */
const TOPIC_CONFIG_SOURCE = 1;

describe('topics the service creates (KAFKA_CREATE_TOPICS)', () => {
  let t: TestApp;
  beforeAll(async () => {
    // Resolves once every topic exists.
    t = await startTestApp({ layers: ['experience'], groups: [] });
  });
  afterAll(async () => {
    await t?.close();
  });

  async function topicConfig(topic: string): Promise<Record<string, { value: string; source: number }>> {
    const admin = new Kafka({ brokers: process.env.KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['min.insync.replicas', 'retention.ms', 'segment.ms'] }],
      });
      return Object.fromEntries(resources[0].configEntries.map((e) => [e.configName, { value: e.configValue, source: (e as any).configSource }]));
    } finally {
      await admin.disconnect();
    }
  }

  it('keep dead letters 30 days by default (KAFKA_DLQ_RETENTION_HOURS), in daily segments', async () => {
    const dlq = await topicConfig('dlq-orders');
    expect(dlq['retention.ms']).toEqual({ value: String(720 * 3_600_000), source: TOPIC_CONFIG_SOURCE });
    expect(dlq['segment.ms']).toEqual({ value: '86400000', source: TOPIC_CONFIG_SOURCE });
  });

  it('set min.insync.replicas to replication - 1 (1 on the single test broker) on every topic', async () => {
    for (const topic of ['orders-in', 'payment-replies', 'dlq-orders']) {
      expect((await topicConfig(topic))['min.insync.replicas']).toEqual({ value: '1', source: TOPIC_CONFIG_SOURCE });
    }
    // The other topics keep the broker's retention.
    expect((await topicConfig('orders-in'))['retention.ms'].source).not.toBe(TOPIC_CONFIG_SOURCE);
  });
});
