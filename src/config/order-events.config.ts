import { registerAs } from '@nestjs/config';
import { env } from './env.js';

export const orderEventsConfig = registerAs('orderEvents', () => {
  const e = env();
  return {
    /** A `: keep-alive` comment on every open stream this often (one shared timer). */
    heartbeatMs: e.SSE_HEARTBEAT_MS,
    /** Open streams per process; beyond: 503 with Retry-After. */
    maxStreams: e.SSE_MAX_STREAMS,
    /** How long the change notifier (a Kafka consumer) keeps running after the process's last stream closed. */
    notifierIdleMs: e.SSE_NOTIFIER_IDLE_MS,
    /** The safety poll: one query for every order with open streams, for events no notification announced. */
    pollMs: e.SSE_POLL_MS,
    /** The `retry:` the stream sends once: how long EventSource waits before it reconnects. */
    retryMs: e.SSE_RETRY_MS,
  };
});
export type OrderEventsConfig = ReturnType<typeof orderEventsConfig>;
