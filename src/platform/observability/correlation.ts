import { AsyncLocalStorage } from 'node:async_hooks';

/** What every log line about a request or a message carries, from HTTP through every Kafka hop. */
export interface TraceContext {
  correlationId: string;
  orderId?: string;
  eventId?: string;
}

const storage = new AsyncLocalStorage<TraceContext>();

/** The log context of work on one message (any envelope: it carries all three). */
export function messageTrace(message: { correlationId: string; orderId: string; eventId: string }): TraceContext {
  return { correlationId: message.correlationId, orderId: message.orderId, eventId: message.eventId };
}

export const correlation = {
  run<T>(ctx: TraceContext, fn: () => T): T {
    return storage.run(ctx, fn);
  },
  current(): TraceContext | undefined {
    return storage.getStore();
  },
};
