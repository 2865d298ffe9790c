import { Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { LoggerModule } from 'nestjs-pino';
import { appConfig } from '../../config/app.config.js';
import { correlation } from './correlation.js';
import { flushTraces, logTraceFields } from './tracing.js';

/** Writes out the spans in hand when the application stops (the batch processor would lose its last seconds). */
@Injectable()
class TraceFlush implements OnApplicationShutdown {
  async onApplicationShutdown(): Promise<void> {
    await flushTraces().catch(() => undefined);
  }
}

/**
 * JSON logs; every line inside a request or a Kafka message carries its correlation id and order id,
 * and, when tracing is on, every line inside a span its `trace_id` and `span_id`.
 *
 * nestjs-pino supplies the Nest logger, but its pino-http middleware is not mounted (`forRoutes: []`):
 * its per-request child loggers cost CPU on every request, even when no line is written. The
 * correlation id comes from the mixin instead, and HttpAccessMiddleware writes the access log line.
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [appConfig.KEY],
      useFactory: (app: ConfigType<typeof appConfig>) => ({
        forRoutes: [],
        pinoHttp: {
          level: app.logLevel,
          transport: app.logPretty ? { target: 'pino-pretty', options: { singleLine: true } } : undefined,
          mixin: () => {
            const ctx = correlation.current();
            const fields = ctx ? { correlationId: ctx.correlationId, ...(ctx.orderId ? { orderId: ctx.orderId } : {}) } : {};
            // Inside a span (tracing on): its trace_id and span_id, to jump from a log line to its trace.
            const span = logTraceFields();
            return span ? { ...fields, ...span } : fields;
          },
          // Tokens and secrets never reach the logs.
          redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', '*.password', '*.token', '*.access_token'], censor: '[redacted]' },
          // The access lines' `req` and `res` are already the few fields they log (see HttpAccessMiddleware).
          wrapSerializers: false,
        },
      }),
    }),
  ],
  providers: [TraceFlush],
})
export class LoggingModule {}
