import { registerAs } from '@nestjs/config';
import { env } from './env.js';

export const APP_LAYERS = ['experience', 'process', 'system'] as const;
export type AppLayer = (typeof APP_LAYERS)[number];

function isAppLayer(name: string): name is AppLayer {
  return APP_LAYERS.some((layer) => layer === name);
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export const appConfig = registerAs('app', () => {
  const e = env();
  return {
    nodeEnv: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    /** The port of /metrics when it has its own; undefined: on the API port. */
    metricsPort: e.METRICS_PORT,
    publicUrl: e.PUBLIC_URL ?? `http://localhost:${e.PORT}`,
    layers: new Set<AppLayer>(list(e.APP_MODULES).filter(isAppLayer)),
    defaultCurrency: e.DEFAULT_CURRENCY,
    logLevel: e.LOG_LEVEL,
    logPretty: e.LOG_PRETTY,
    bodyLimit: e.HTTP_BODY_LIMIT,
    keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    corsOrigins: list(e.CORS_ORIGINS),
    rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
    /** Where rate-limit counts are shared by all replicas; undefined: in memory, per replica. */
    redisUrl: e.REDIS_URL,
    idempotencyKeyTtlHours: e.IDEMPOTENCY_KEY_TTL_HOURS,
    idempotencyPruneIntervalMs: e.IDEMPOTENCY_PRUNE_INTERVAL_MS,
  };
});
export type AppConfig = ReturnType<typeof appConfig>;
