import { Kafka, logLevel } from 'kafkajs';
import type { DataSource } from 'typeorm';
import { countTopicMessages } from '../../src/platform/invariants/dlq.check.js';
import { checkInvariants, type CheckOptions } from '../../src/platform/invariants/invariant-checker.js';
import type { InvariantReport } from '../../src/platform/invariants/invariants.js';
import { DLQ_TOPIC } from './topics.js';

function testKafka(): Kafka {
  return new Kafka({ clientId: 'test-invariants', brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(','), logLevel: logLevel.NOTHING });
}

/** Letters in the service's DLQ topic now: a suite counts them first, then allows only those it injects. */
export function dlqLetters(): Promise<number> {
  return countTopicMessages(testKafka(), DLQ_TOPIC);
}

/**
 * The invariant checker (`npm run check:invariants`) on the orders a suite placed, with their
 * products' stock, waiting up to `waitS` for compensations still in flight. `allowDlq` is the
 * number of letters the DLQ may hold (those there before plus those the suite injected); without
 * it, I6 is not checked. Returns the report; the caller expects its violations to be empty.
 */
export function checkSuiteInvariants(
  dataSource: DataSource,
  orderIds: string[],
  options: { allowDlq?: number; metricsUrls?: string[]; waitS?: number } & Pick<CheckOptions, 'stock'> = {},
): Promise<InvariantReport> {
  return checkInvariants(dataSource, {
    orderIds,
    stock: options.stock ?? true,
    waitS: options.waitS ?? 60,
    pollIntervalMs: 250,
    dlq: options.allowDlq === undefined ? undefined : { kafka: testKafka(), topic: DLQ_TOPIC, allow: options.allowDlq },
    metricsUrls: options.metricsUrls,
  });
}
