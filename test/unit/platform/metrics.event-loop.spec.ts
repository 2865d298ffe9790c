import { Registry } from 'prom-client';
import { registerEventLoopActive } from '../../../src/platform/observability/metrics.event-loop.js';

describe('order_flow_nodejs_eventloop_active_seconds_total', () => {
  const registry = new Registry();
  registerEventLoopActive(registry, 'order_flow_');
  const read = async () => {
    const text = await registry.metrics();
    const line = text.split('\n').find((l) => l.startsWith('order_flow_nodejs_eventloop_active_seconds_total '));
    return Number(line?.split(' ')[1]);
  };

  it('is exposed as a counter', async () => {
    expect(await registry.metrics()).toContain('# TYPE order_flow_nodejs_eventloop_active_seconds_total counter');
  });

  it('grows by the time the loop spends running code, and barely while it waits', async () => {
    // The loop's totals move at the end of each loop iteration: let one pass before each reading.
    const tick = () => new Promise((resolve) => setImmediate(resolve));
    await tick();
    const start = await read();
    const until = performance.now() + 150;
    while (performance.now() < until); // busy: the loop is blocked in this callback
    await tick();
    const afterBusy = await read();
    expect(afterBusy - start).toBeGreaterThanOrEqual(0.14);

    await new Promise((resolve) => setTimeout(resolve, 300)); // idle: the loop waits in the poll phase
    await tick();
    const afterIdle = await read();
    expect(afterIdle - afterBusy).toBeGreaterThanOrEqual(0);
    expect(afterIdle - afterBusy).toBeLessThan(0.1);
  });
});
