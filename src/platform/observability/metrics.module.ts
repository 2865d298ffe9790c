import { type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { HttpAccessMiddleware } from './http-access.middleware.js';
import { MetricsController } from './metrics.controller.js';
import { ConsumerLagService } from './metrics.consumer-lag.js';
import { MetricsService } from './metrics.service.js';

/**
 * `GET /metrics` for Prometheus (docs/architecture.md §10). The DLQ and saga retry counters live in
 * metrics.counters.ts so the code that increments them needs no dependency on this module. Every HTTP
 * request is timed and logged here (HttpAccessMiddleware).
 */
@Module({
  controllers: [MetricsController],
  providers: [MetricsService, ConsumerLagService],
  exports: [MetricsService],
})
export class MetricsModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpAccessMiddleware).forRoutes('{*path}');
  }
}
