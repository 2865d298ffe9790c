import { Injectable } from '@nestjs/common';
import type { LayerKafkaServer } from './layer-kafka.server.js';

/** Tracks the status of every consumer group this process runs, for readiness and shutdown. */
@Injectable()
export class ConsumerRegistryService {
  private readonly statuses = new Map<string, string>();
  private readonly servers = new Map<string, LayerKafkaServer>();

  register(group: string, server: LayerKafkaServer): void {
    this.servers.set(group, server);
    this.statuses.set(group, 'starting');
    server.status.subscribe((status) => this.statuses.set(group, String(status)));
  }

  markRunning(group: string): void {
    this.statuses.set(group, 'connected');
  }

  snapshot(): Record<string, string> {
    return Object.fromEntries(this.statuses);
  }

  /** Groups that are not consuming right now. */
  notRunning(): string[] {
    return [...this.statuses].filter(([, s]) => s !== 'connected').map(([g]) => g);
  }
}
