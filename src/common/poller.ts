/** Where a poller reports a failed pass (a Nest Logger fits). */
export interface PollerLog {
  warn(message: string): void;
}

export interface PollerOptions<T> {
  /** The work of one pass. A pass never overlaps the previous one. */
  task: () => Promise<T>;
  /** Wait between the end of one pass and the start of the next. */
  intervalMs: number;
  /** Wait before the first pass (default: `intervalMs`). */
  firstDelayMs?: number;
  /** A pass whose result says more is waiting starts the next one at once. */
  runAgainAtOnce?: (result: T) => boolean;
  log: PollerLog;
  /** Logged, with the error's message, when a pass throws; the next pass comes after `intervalMs` as usual. */
  failureMessage: string;
}

/**
 * Runs a task every `intervalMs`, one pass at a time, until `stop()`, which waits for the pass under
 * way. Its timer does not keep the process alive.
 */
export class Poller<T = unknown> {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopRequested = false;

  constructor(private readonly options: PollerOptions<T>) {}

  /** Whether `stop()` was called: a long pass checks it between its steps to end early. */
  get stopped(): boolean {
    return this.stopRequested;
  }

  start(): void {
    this.schedule(this.options.firstDelayMs ?? this.options.intervalMs);
  }

  async stop(): Promise<void> {
    this.stopRequested = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopRequested) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.pass().finally(() => {
        this.running = null;
      });
    }, delayMs);
    this.timer.unref();
  }

  private async pass(): Promise<void> {
    let next = this.options.intervalMs;
    try {
      const result = await this.options.task();
      if (this.options.runAgainAtOnce?.(result)) next = 0;
    } catch (err) {
      this.options.log.warn(`${this.options.failureMessage}: ${(err as Error).message}`);
    }
    this.schedule(next);
  }
}
