import { setTimeout as sleep } from 'node:timers/promises';
import { Poller } from '../../../src/common/poller.js';

function log() {
  const warnings: string[] = [];
  return { warnings, warn: (m: string) => warnings.push(m) };
}

describe('Poller', () => {
  it('runs the task every interval, never two passes at once', async () => {
    let running = 0;
    let maxRunning = 0;
    let passes = 0;
    const poller = new Poller({
      task: async () => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        await sleep(15);
        running -= 1;
        passes += 1;
      },
      intervalMs: 5,
      log: log(),
      failureMessage: 'failed',
    });
    poller.start();
    await sleep(150);
    await poller.stop();
    expect(passes).toBeGreaterThan(2);
    expect(maxRunning).toBe(1);
  });

  it('waits the first delay, then the interval', async () => {
    const starts: number[] = [];
    const t0 = Date.now();
    const poller = new Poller({ task: async () => void starts.push(Date.now() - t0), intervalMs: 60, firstDelayMs: 0, log: log(), failureMessage: 'failed' });
    poller.start();
    await sleep(90);
    await poller.stop();
    expect(starts).toHaveLength(2);
    expect(starts[0]).toBeLessThan(40);
    expect(starts[1] - starts[0]).toBeGreaterThanOrEqual(55);
  });

  it('goes again at once when the pass says more is waiting', async () => {
    let passes = 0;
    const poller = new Poller({ task: async () => ++passes, intervalMs: 10_000, firstDelayMs: 0, runAgainAtOnce: (n) => n < 5, log: log(), failureMessage: 'failed' });
    poller.start();
    await sleep(100);
    await poller.stop();
    expect(passes).toBe(5);
  });

  it('logs a failed pass and keeps polling', async () => {
    const l = log();
    let passes = 0;
    const poller = new Poller({
      task: async () => {
        passes += 1;
        throw new Error('database down');
      },
      intervalMs: 5,
      log: l,
      failureMessage: 'pruning failed, retrying later',
    });
    poller.start();
    await sleep(60);
    await poller.stop();
    expect(passes).toBeGreaterThan(1);
    expect(l.warnings[0]).toBe('pruning failed, retrying later: database down');
  });

  it('stop() waits for the pass under way, and no pass starts after it', async () => {
    let finished = false;
    let passes = 0;
    const poller = new Poller({
      task: async () => {
        passes += 1;
        await sleep(50);
        finished = true;
      },
      intervalMs: 1,
      firstDelayMs: 0,
      log: log(),
      failureMessage: 'failed',
    });
    poller.start();
    await sleep(10);
    expect(poller.stopped).toBe(false);
    await poller.stop();
    expect(poller.stopped).toBe(true);
    expect(finished).toBe(true);
    await sleep(30);
    expect(passes).toBe(1);
  });
});
