import { Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { correlation, messageTrace } from '../../platform/observability/correlation.js';

/**
 * How each system module handles the commands of one partition, in offset order, in the caller's
 * transaction: one read round trip (`read`), each message decided in memory, in order, against what
 * the messages before it left (`decide`, in the message's trace context so log lines name it), then
 * one write round trip (`write`). `B` is the batch: what was read, and what will be written.
 */
export abstract class SystemBatchHandler<M extends { correlationId: string; orderId: string; eventId: string }, B> {
  /** Named after the module's service. */
  protected readonly logger = new Logger(this.constructor.name);

  async handleMany(messages: M[], tx: EntityManager): Promise<void> {
    if (!messages.length) return;
    const batch = await this.read(messages, tx);
    const now = new Date();
    messages.forEach((message, i) => correlation.run(messageTrace(message), () => this.decide(message, i, batch, now)));
    await this.write(batch, tx, now);
  }

  protected abstract read(messages: M[], tx: EntityManager): Promise<B>;

  /** Decides `messages[index]`, updating `batch` to match. */
  protected abstract decide(message: M, index: number, batch: B, now: Date): void;

  protected abstract write(batch: B, tx: EntityManager, now: Date): Promise<void>;
}
