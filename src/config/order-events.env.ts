import { number } from './env-kit.js';

/** The live status stream, GET /api/orders/{id}/events (docs/order-events.md). */
export const orderEventsEnv = {
  SSE_HEARTBEAT_MS: number({ min: 10 }).default(15000),
  SSE_MAX_STREAMS: number({ min: 1 }).default(5000),
  SSE_NOTIFIER_IDLE_MS: number({ min: 0 }).default(60000),
  SSE_POLL_MS: number({ min: 10 }).default(5000),
  SSE_RETRY_MS: number({ min: 0 }).default(3000),
};
