import { type DynamicModule, type MiddlewareConsumer, Module, type NestModule, type Type } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import type { AppLayer } from './config/app.config.js';
import { appConfig } from './config/app.config.js';
import { databaseConfig } from './config/database.config.js';
import { validateEnv } from './config/env.schema.js';
import { kafkaConfig } from './config/kafka.config.js';
import { outboxConfig } from './config/outbox.config.js';
import { DeadLettersModule } from './experience/dead-letters/dead-letters.module.js';
import { OrdersModule } from './experience/orders/orders.module.js';
import { ParkedMessagesModule } from './experience/parked-messages/parked-messages.module.js';
import { AuthModule } from './platform/auth/auth.module.js';
import { DatabaseModule } from './platform/database/database.module.js';
import { HealthModule } from './platform/health/health.module.js';
import { CorrelationMiddleware } from './platform/http/correlation.middleware.js';
import { ForbiddenKeysMiddleware } from './platform/http/forbidden-keys.middleware.js';
import { JsonOnlyMiddleware } from './platform/http/json-only.middleware.js';
import { MessagingModule } from './platform/messaging/messaging.module.js';
import { LoggingModule } from './platform/observability/logging.module.js';
import { MetricsModule } from './platform/observability/metrics.module.js';
import { OrderSagaModule } from './process/orders/order-saga.module.js';
import { InventoryModule } from './system/inventory/inventory.module.js';
import { PaymentModule } from './system/payment/payment.module.js';
import { ShippingModule } from './system/shipping/shipping.module.js';

/** The Nest modules of each layer (docs/architecture.md §2); APP_MODULES picks which run in this process. */
export const LAYER_MODULES: Record<AppLayer, Type[]> = {
  experience: [OrdersModule, DeadLettersModule, ParkedMessagesModule],
  process: [OrderSagaModule],
  system: [InventoryModule, PaymentModule, ShippingModule],
};

@Module({})
export class AppModule implements NestModule {
  static register(layers: Iterable<AppLayer>): DynamicModule {
    const selected = [...new Set(layers)];
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, validate: validateEnv, load: [appConfig, databaseConfig, kafkaConfig, outboxConfig] }),
        LoggingModule,
        MetricsModule.register(),
        AuthModule,
        DatabaseModule,
        MessagingModule,
        HealthModule,
        ...selected.flatMap((layer) => LAYER_MODULES[layer]),
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(CorrelationMiddleware, JsonOnlyMiddleware, ForbiddenKeysMiddleware).forRoutes('{*path}');
  }
}
