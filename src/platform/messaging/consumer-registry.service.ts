import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { kafkaConfig } from '../../config/kafka.config.js';
import { consumerRestarts } from '../observability/metrics.counters.js';

/** `stopped` only once this process shuts down: a group that fails is `reconnecting` until it runs again. */
export type ConsumerGroupState = 'connected' | 'reconnecting' | 'stopped';

export interface ConsumerGroupHealth {
  state: ConsumerGroupState;
  /** When the group entered this state (ISO 8601). */
  since: string;
  /** Why the group last stopped running (kept after it recovers, for the record). */
  lastError: string | null;
  /** Restarts of the group's consumer since the process started. */
  restarts: number;
}

/** What a consumer tells its supervisor; each start of the consumer gets its own listener. */
export interface ConsumerListener {
  /** Joined the group: partitions assigned (or none, when there are more members than partitions). */
  joined(): void;
  /** Heard from the broker (a heartbeat, a batch), so the consumer still runs. */
  active(): void;
  /** Stopped by an error: the consumer is gone and must be started again. */
  crashed(error: unknown): void;
}

/** One consumer group's consumer, as the registry drives it (GroupConsumer). */
export interface SupervisedConsumer {
  /** Connects, subscribes and starts consuming; rejects if any of that fails. */
  launch(listener: ConsumerListener): Promise<void>;
  /** Graceful stop: no new batch, the batches in hand finish and their offsets are committed, then it leaves the group. */
  drain(): Promise<void>;
  /** Drops what is left of a consumer that crashed (its group membership is gone already). */
  close(): Promise<void>;
  /** A batch is being handled right now. */
  busy(): boolean;
}

const RESTART_MIN_MS = 500;
const RESTART_MAX_MS = 5000;
/** A consumer that ran this long before it crashed starts again after the shortest delay. */
const HEALTHY_RUN_MS = 60000;
/** How long shutdown waits for a start in progress before it drains what is there. */
const START_SETTLE_MS = 5000;

class GroupSupervisor {
  state: ConsumerGroupState = 'reconnecting';
  since: number;
  lastError: string | null = null;
  restarts = 0;
  lastActiveAt = 0;
  connectedAt = 0;
  /** The start in progress, awaited by shutdown before it drains. */
  starting: Promise<unknown> | null = null;
  /** Resolves once the group has joined for the first time (or shutdown began). */
  readonly firstJoin: Promise<void>;
  resolveFirstJoin!: () => void;

  constructor(
    readonly group: string,
    readonly consumer: SupervisedConsumer,
    now: number,
  ) {
    this.since = now;
    this.firstJoin = new Promise((resolve) => (this.resolveFirstJoin = resolve));
  }

  enter(state: ConsumerGroupState, now: number): void {
    if (this.state !== state) {
      this.state = state;
      this.since = now;
    }
  }
}

/**
 * Runs every consumer group of this process and keeps it running: a group whose consumer crashes,
 * for whatever reason (kafkajs stops for good on some errors, a TypeError among them), is started
 * again with backoff, for as long as the process lives. Tells health what each group is doing:
 * `connected` once it has joined and while the broker answers it, `reconnecting` from the moment it
 * stopped (or the broker went silent), `stopped` when the process shuts down. A group that is not
 * connected for `CONSUMER_DEAD_AFTER_S` makes liveness fail, so the orchestrator restarts the process.
 */
@Injectable()
export class ConsumerRegistryService implements BeforeApplicationShutdown {
  private readonly logger = new Logger('Consumers');
  private readonly groups = new Map<string, GroupSupervisor>();
  /** Set when the application shuts down: nothing is (re)started any more. */
  private closing = false;
  private signalClosed!: () => void;
  /** Resolves when shutdown begins: wakes the supervisors from their waits. */
  private readonly closed = new Promise<void>((resolve) => (this.signalClosed = resolve));
  /** Silence from the broker longer than this (no heartbeat, no batch) means the consumer is not running. */
  private readonly staleAfterMs: number;
  readonly deadAfterMs: number;

  constructor(@Inject(kafkaConfig.KEY) cfg: Pick<ConfigType<typeof kafkaConfig>, 'fetchMaxWaitMs' | 'consumerDeadAfterMs'>) {
    // An idle consumer heartbeats after each empty fetch (at most fetchMaxWaitMs); the margin covers
    // kafkajs's own retries of a failed batch (at most 5 s apart, see the consumers' retry settings).
    this.staleAfterMs = cfg.fetchMaxWaitMs + 15000;
    this.deadAfterMs = cfg.consumerDeadAfterMs;
  }

  register(group: string, consumer: SupervisedConsumer, now = Date.now()): void {
    this.groups.set(group, new GroupSupervisor(group, consumer, now));
  }

  /**
   * Starts the supervision of every group; resolves once each has joined its group once (the
   * supervision goes on in the background), or when shutdown begins.
   */
  async startAll(): Promise<void> {
    const all = [...this.groups.values()];
    for (const g of all) void this.supervise(g);
    await Promise.all(all.map((g) => g.firstJoin));
  }

  /** Each group's state, by group id. */
  snapshot(now = Date.now()): Record<string, ConsumerGroupHealth> {
    return Object.fromEntries([...this.groups].map(([group, g]) => [group, this.view(g, now)]));
  }

  /** Groups that have not been connected for longer than deadAfterMs (never those stopped by shutdown). */
  dead(now = Date.now()): string[] {
    return [...this.groups]
      .filter(([, g]) => {
        const v = this.view(g, now);
        return v.state === 'reconnecting' && now - Date.parse(v.since) > this.deadAfterMs;
      })
      .map(([group]) => group);
  }

  /** Stops every group gracefully (see SupervisedConsumer.drain), before the HTTP server and the producer close. */
  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    this.signalClosed();
    await Promise.all(
      [...this.groups.values()].map(async (g) => {
        g.resolveFirstJoin();
        if (g.starting) await Promise.race([g.starting.catch(() => undefined), sleep(START_SETTLE_MS)]);
        try {
          await g.consumer.drain();
        } catch (err) {
          this.logger.warn(`consumer group ${g.group} did not stop cleanly: ${(err as Error).message}`);
        }
        g.enter('stopped', Date.now());
        this.logger.log(`consumer group ${g.group} stopped`);
      }),
    );
  }

  private view(g: GroupSupervisor, now: number): ConsumerGroupHealth {
    let { state, since } = g;
    // Joined, but the broker has gone quiet (kafkajs only gives up after its retries, tens of seconds
    // later): not running since it was last heard from.
    if (state === 'connected' && !g.consumer.busy() && now - g.lastActiveAt > this.staleAfterMs) {
      state = 'reconnecting';
      since = g.lastActiveAt;
    }
    return { state, since: new Date(since).toISOString(), lastError: g.lastError, restarts: g.restarts };
  }

  /** Starts the group's consumer, and again after each crash, until shutdown. */
  private async supervise(g: GroupSupervisor): Promise<void> {
    let delay = RESTART_MIN_MS;
    while (!this.closing) {
      let crash!: (err: unknown) => void;
      const crashed = new Promise<unknown>((resolve) => (crash = resolve));
      const listener = this.listenerFor(g, crash);
      g.starting = g.consumer.launch(listener).catch((err: unknown) => listener.crashed(err));
      await g.starting;
      g.starting = null;
      const err = await Promise.race([crashed, this.closed]);
      if (this.closing) return;

      if ((await this.stopAfterCrash(g, err)) >= HEALTHY_RUN_MS) delay = RESTART_MIN_MS;
      this.logger.warn(`consumer group ${g.group} stopped (${g.lastError}); starting it again in ${delay} ms`);
      await Promise.race([sleep(delay), this.closed]);
      delay = Math.min(delay * 2, RESTART_MAX_MS);
      if (this.closing) return;
      g.restarts += 1;
      consumerRestarts.inc({ consumer_group: g.group });
    }
  }

  /** What one start of the group's consumer reports; `crash` is called once, on the first crash. */
  private listenerFor(g: GroupSupervisor, crash: (err: unknown) => void): ConsumerListener {
    let over = false;
    return {
      joined: () => {
        if (over || this.closing) return;
        const now = Date.now();
        g.lastActiveAt = now;
        if (g.state !== 'connected') g.connectedAt = now;
        g.enter('connected', now);
        g.resolveFirstJoin();
      },
      active: () => {
        if (over || this.closing || g.state !== 'connected') return;
        const now = Date.now();
        // Heard from again after a silence: connected from now on.
        if (now - g.lastActiveAt > this.staleAfterMs) g.since = now;
        g.lastActiveAt = now;
      },
      crashed: (err) => {
        if (over) return;
        over = true;
        crash(err);
      },
    };
  }

  /** Records the crash and drops what is left of the consumer; returns how long it had been connected. */
  private async stopAfterCrash(g: GroupSupervisor, err: unknown): Promise<number> {
    const now = Date.now();
    const ranFor = g.state === 'connected' ? now - g.connectedAt : 0;
    g.lastError = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    // Not running since the crash, or since the broker went quiet before it (a group that never
    // joined keeps its first `since`).
    const seen = this.view(g, now);
    g.enter('reconnecting', seen.state === 'reconnecting' ? Date.parse(seen.since) : now);
    await g.consumer.close().catch((e: Error) => this.logger.debug(`closing ${g.group} after its crash: ${e.message}`));
    return ranFor;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
