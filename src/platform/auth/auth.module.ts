import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { authConfig } from '../../config/auth.config.js';
import { AccessTokenGuard } from './access-token.guard.js';
import { ClientRateLimitGuard } from './client-rate-limit.guard.js';
import { JwtStrategy } from './jwt.strategy.js';
import { SigningKeyResolver } from './signing-key.resolver.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

/**
 * OAuth 2.0 resource server (docs/security.md) and per-client rate limiting. The two global guards run in
 * this order: authenticate (and check scopes), then count the request against its client.
 * (Not @nestjs/throttler: 6.x is CommonJS requiring the ESM-only @nestjs/common 12, which Jest on
 * Node 20 cannot load.)
 */
@Module({
  imports: [ConfigModule.forFeature(authConfig), PassportModule],
  providers: [SigningKeyResolver, VerifiedTokenCache, JwtStrategy, { provide: APP_GUARD, useClass: AccessTokenGuard }, { provide: APP_GUARD, useClass: ClientRateLimitGuard }],
})
export class AuthModule {}
