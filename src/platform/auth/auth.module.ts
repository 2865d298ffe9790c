import { Module } from '@nestjs/common';
import { ConfigModule, type ConfigType } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { appConfig } from '../../config/app.config.js';
import { authConfig } from '../../config/auth.config.js';
import { AccessTokenGuard } from './access-token.guard.js';
import { AccessTokenVerifier } from './access-token.verifier.js';
import { ClientRateLimitGuard } from './client-rate-limit.guard.js';
import { RateLimiter } from './rate-limiter.js';
import { SigningKeyResolver } from './signing-key.resolver.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

/**
 * OAuth 2.0 resource server (docs/security.md) and per-client rate limiting. The two global guards run in
 * this order: authenticate (and check scopes), then count the request against its client.
 * (Not @nestjs/throttler: its storage is per process unless one writes a store for it, and
 * rate-limiter-flexible brings the Redis store and the in-memory fallback while Redis is down.)
 */
@Module({
  imports: [ConfigModule.forFeature(authConfig)],
  providers: [
    SigningKeyResolver,
    VerifiedTokenCache,
    AccessTokenVerifier,
    {
      provide: RateLimiter,
      inject: [appConfig.KEY],
      useFactory: (app: ConfigType<typeof appConfig>) => new RateLimiter({ limit: app.rateLimitPerMinute, redisUrl: app.redisUrl }),
    },
    { provide: APP_GUARD, useClass: AccessTokenGuard },
    { provide: APP_GUARD, useClass: ClientRateLimitGuard },
  ],
})
export class AuthModule {}
