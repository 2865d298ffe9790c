import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { LayerKafkaServer } from './layer-kafka.server.js';

/**
 * Tracks every consumer group this process runs, for readiness. A group counts as running only
 * after it has subscribed and started (`markRunning`): Nest reports a server "connected" as soon as
 * its client connects, which is before a subscription that may still be refused.
 */
@Injectable()
export class ConsumerRegistryService implements OnApplicationShutdown {
  /** Set when the application shuts down: consumer start-up retries stop. */
  closing = false;
  private readonly statuses = new Map<string, string>();
  private readonly running = new Set<string>();

  register(group: string, server: LayerKafkaServer): void {
    this.statuses.set(group, 'starting');
    server.status.subscribe((status) => {
      const s = String(status);
      if (s === 'connected' && !this.running.has(group)) return;
      if (s !== 'connected') this.running.delete(group);
      // Why the last start failed stays visible until a start succeeds (closing the server after a
      // failure reports "disconnected").
      if (this.statuses.get(group)?.startsWith('failed:') && !this.running.has(group)) return;
      this.statuses.set(group, s);
    });
  }

  markRunning(group: string): void {
    this.running.add(group);
    this.statuses.set(group, 'connected');
  }

  /** A start attempt failed; readiness says why. */
  markFailed(group: string, reason: string): void {
    this.running.delete(group);
    this.statuses.set(group, `failed: ${reason}`);
  }

  snapshot(): Record<string, string> {
    return Object.fromEntries(this.statuses);
  }

  onApplicationShutdown(): void {
    this.closing = true;
  }

  /** Groups that are not consuming right now. */
  notRunning(): string[] {
    return [...this.statuses].filter(([group]) => !this.running.has(group)).map(([group]) => group);
  }
}
