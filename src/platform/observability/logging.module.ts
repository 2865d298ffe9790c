import { Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { LoggerModule } from 'nestjs-pino';
import { appConfig } from '../../config/app.config.js';
import { correlation } from './correlation.js';

/**
 * JSON logs; every line inside a request or a Kafka message carries its correlation id and order id.
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
            return ctx ? { correlationId: ctx.correlationId, ...(ctx.orderId ? { orderId: ctx.orderId } : {}) } : {};
          },
          // Tokens and secrets never reach the logs.
          redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', '*.password', '*.token', '*.access_token'], censor: '[redacted]' },
          // The access lines' `req` and `res` are already the few fields they log (see HttpAccessMiddleware).
          wrapSerializers: false,
        },
      }),
    }),
  ],
})
export class LoggingModule {}
