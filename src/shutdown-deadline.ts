import { Logger } from '@nestjs/common';

/**
 * Kubernetes kills the pod 30 s (terminationGracePeriodSeconds) after it starts stopping it, and its
 * preStop hook (docker/k8s: 5 s) comes out of that time: a hung shutdown ends well before.
 */
export const SHUTDOWN_DEADLINE_MS = 20000;

/**
 * Once a termination signal arrives, the process exits within `deadlineMs` whatever hangs (a batch
 * stuck on a database that is gone, a broker that does not answer the group leave). The graceful
 * shutdown itself is Nest's (enableShutdownHooks): intake, consumers, relay and schedulers, producer.
 */
export function exitWithin(deadlineMs = SHUTDOWN_DEADLINE_MS, signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): void {
  const arm = (signal: NodeJS.Signals) => {
    signals.forEach((s) => process.removeListener(s, arm));
    setTimeout(() => {
      new Logger('Main').error(`graceful shutdown after ${signal} took more than ${deadlineMs} ms; exiting now`);
      process.exit(1);
    }, deadlineMs).unref();
  };
  // `once` per signal, removed together: a listener left behind would keep Node from ending the process
  // when Nest raises the signal again after its shutdown.
  signals.forEach((s) => process.once(s, arm));
}
