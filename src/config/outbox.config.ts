import { registerAs } from '@nestjs/config';
import { env } from './env.js';

export const outboxConfig = registerAs('outbox', () => {
  const e = env();
  return {
    pollIntervalMs: e.OUTBOX_POLL_INTERVAL_MS,
    batchSize: e.OUTBOX_BATCH_SIZE,
    shards: e.OUTBOX_SHARDS,
    relayConcurrency: e.OUTBOX_RELAY_CONCURRENCY,
    retryBackoffMaxMs: e.OUTBOX_RETRY_BACKOFF_MAX_MS,
    publishTimeoutMs: e.OUTBOX_PUBLISH_TIMEOUT_MS,
  };
});
export type OutboxConfig = ReturnType<typeof outboxConfig>;
