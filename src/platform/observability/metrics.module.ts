import { type DynamicModule, type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { appConfig } from '../../config/app.config.js';
import { HttpAccessMiddleware } from './http-access.middleware.js';
import { MetricsController } from './metrics.controller.js';
import { ConsumerLagService } from './metrics.consumer-lag.js';
import { MetricsServer } from './metrics.server.js';
import { MetricsService } from './metrics.service.js';

/**
 * `GET /metrics` for Prometheus (docs/architecture.md §10): on the API port, or, when METRICS_PORT is
 * set, on a port of its own (MetricsServer) and not on the API port. The counters and histograms
 * observed in process live in metrics.counters.ts so the code that observes them needs no dependency
 * on this module. Every HTTP request is timed and logged here (HttpAccessMiddleware).
 */
@Module({})
export class MetricsModule implements NestModule {
  static register(): DynamicModule {
    const ownPort = appConfig().metricsPort !== undefined;
    return {
      module: MetricsModule,
      controllers: ownPort ? [] : [MetricsController],
      providers: [MetricsService, ConsumerLagService, ...(ownPort ? [MetricsServer] : [])],
      exports: [MetricsService],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpAccessMiddleware).forRoutes('{*path}');
  }
}
