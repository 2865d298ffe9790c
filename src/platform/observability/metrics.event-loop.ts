import { performance } from 'node:perf_hooks';
import { Counter, type Registry } from 'prom-client';

/**
 * Seconds the event loop has spent busy (running callbacks rather than waiting for I/O) since the
 * process started, from `performance.eventLoopUtilization()`. `rate()` of it is the loop's
 * utilization, 0 to 1: the saturation signal of a Node service. prom-client's lag percentiles say
 * how late timers fire; this says how much of the loop's time is taken, and near 1 every request
 * queues behind the work already there.
 */
export function registerEventLoopActive(registry: Registry, prefix: string): Counter {
  return new Counter({
    name: `${prefix}nodejs_eventloop_active_seconds_total`,
    help: 'Seconds the event loop has been busy since the process started (rate() is its utilization)',
    registers: [registry],
    collect() {
      // Read at scrape time: the total comes from Node, so the counter is set to it, not counted.
      this.reset();
      this.inc(performance.eventLoopUtilization().active / 1000);
    },
  });
}
