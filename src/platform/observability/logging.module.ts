import { Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { LoggerModule } from 'nestjs-pino';
import { destination, type DestinationStream } from 'pino';
import { appConfig } from '../../config/app.config.js';
import { correlation } from './correlation.js';
import { flushTraces, logTraceFields } from './tracing.js';

/** How long the shutdown waits for the log lines in hand to reach stdout. */
const LOG_FLUSH_TIMEOUT_MS = 2000;

/**
 * stdout, written asynchronously (a log line never blocks the event loop on a slow pipe). pino flushes
 * it on `exit`, but a graceful shutdown ends with Nest raising the signal again, which kills the
 * process without an `exit` event: the lines still in the buffer, or in a write the thread pool has
 * not run yet, were lost (the consumer groups' "stopped" lines, now and then).
 */
let stdoutLog: (DestinationStream & { flush(cb?: (err?: Error) => void): void; flushSync(): void }) | null = null;

/** Writes out the spans and log lines in hand when the application stops. */
@Injectable()
class ShutdownFlush implements OnApplicationShutdown {
  async onApplicationShutdown(): Promise<void> {
    await flushTraces().catch(() => undefined);
    const log = stdoutLog;
    if (!log) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, LOG_FLUSH_TIMEOUT_MS);
      try {
        log.flush(() => (clearTimeout(timer), resolve()));
      } catch {
        clearTimeout(timer);
        resolve();
      }
    });
    // Whatever is still buffered (a line written while that flush ran, or one it timed out on) goes
    // out synchronously: the process is about to be killed by its own signal.
    try {
      log.flushSync();
    } catch {
      // a write in flight, or stdout closed: nothing more can be done
    }
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
      useFactory: (app: ConfigType<typeof appConfig>) => {
        const options = {
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
        };
        if (app.logPretty) return { forRoutes: [], pinoHttp: options }; // pino-pretty's transport writes on its own
        stdoutLog = destination({ dest: 1, sync: false });
        return { forRoutes: [], pinoHttp: [options, stdoutLog] };
      },
    }),
  ],
  providers: [ShutdownFlush],
})
export class LoggingModule {}
