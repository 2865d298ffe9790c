import { registerAs } from '@nestjs/config';
import { env } from './env.js';

export const outboxConfig = registerAs('outbox', () => {
  const e = env();
  return {
    pollIntervalMs: e.OUTBOX_POLL_INTERVAL_MS as number,
    batchSize: e.OUTBOX_BATCH_SIZE as number,
    shards: e.OUTBOX_SHARDS as number,
    relayConcurrency: e.OUTBOX_RELAY_CONCURRENCY as number,
    retryBackoffMaxMs: e.OUTBOX_RETRY_BACKOFF_MAX_MS as number,
    publishTimeoutMs: e.OUTBOX_PUBLISH_TIMEOUT_MS as number,
  };
});
export type OutboxConfig = ReturnType<typeof outboxConfig>;
