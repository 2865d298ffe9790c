import { registerAs } from '@nestjs/config';
import { env } from './env.js';

export type AppLayer = 'experience' | 'process' | 'system';

export const appConfig = registerAs('app', () => {
  const e = env();
  const layers = String(e.APP_MODULES)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean) as AppLayer[];
  return {
    nodeEnv: e.NODE_ENV as 'development' | 'production' | 'test',
    host: e.HOST as string,
    port: e.PORT as number,
    publicUrl: (e.PUBLIC_URL as string | undefined) ?? `http://localhost:${e.PORT}`,
    layers: new Set<AppLayer>(layers),
    defaultCurrency: e.DEFAULT_CURRENCY as string,
    logLevel: e.LOG_LEVEL as string,
    logPretty: e.LOG_PRETTY as boolean,
    bodyLimit: e.HTTP_BODY_LIMIT as string,
    keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS as number,
    corsOrigins: String(e.CORS_ORIGINS)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE as number,
    idempotencyKeyTtlHours: e.IDEMPOTENCY_KEY_TTL_HOURS as number,
    idempotencyPruneIntervalMs: e.IDEMPOTENCY_PRUNE_INTERVAL_MS as number,
  };
});
export type AppConfig = ReturnType<typeof appConfig>;
