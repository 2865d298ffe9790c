import { Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { LoggerModule } from 'nestjs-pino';
import { appConfig } from '../../config/app.config.js';
import { correlation } from './correlation.js';

/** JSON logs; every line inside a request or a Kafka message carries its correlation id and order id. */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [appConfig.KEY],
      useFactory: (app: ConfigType<typeof appConfig>) => ({
        pinoHttp: {
          level: app.logLevel,
          transport: app.logPretty ? { target: 'pino-pretty', options: { singleLine: true } } : undefined,
          mixin: () => {
            const ctx = correlation.current();
            return ctx ? { correlationId: ctx.correlationId, ...(ctx.orderId ? { orderId: ctx.orderId } : {}) } : {};
          },
          // Tokens and secrets never reach the logs.
          redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', '*.password', '*.token', '*.access_token'], censor: '[redacted]' },
          autoLogging: { ignore: (req) => (req.url ?? '').startsWith('/health') || (req.url ?? '').startsWith('/metrics') },
          quietReqLogger: true,
          serializers: {
            // No query string: a token misplaced in the URL must not reach the logs.
            req: (req: { method: string; url: string }) => ({ method: req.method, url: req.url.split('?')[0] }),
            res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
          },
        },
      }),
    }),
  ],
})
export class LoggingModule {}
