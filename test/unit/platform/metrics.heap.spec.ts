import v8 from 'node:v8';
import vm from 'node:vm';
import { Registry } from 'prom-client';
import { registerHeapAfterGc } from '../../../src/platform/observability/metrics.heap.js';

// A full GC on demand without starting Jest with --expose-gc: the flag is set at run time and the
// function taken from a fresh context.
v8.setFlagsFromString('--expose-gc');
const fullGc = vm.runInNewContext('gc') as () => void;

const NAME = 'order_flow_nodejs_heap_after_gc_bytes';
const MB = 1048576;

describe(NAME, () => {
  const registry = new Registry();
  registerHeapAfterGc(registry, 'order_flow_');
  const read = async () =>
    Number(
      (await registry.metrics())
        .split('\n')
        .find((l) => l.startsWith(`${NAME} `))
        ?.split(' ')[1],
    );

  /** Runs full GCs until the gauge has taken a new value (the GC's entry arrives a moment later). */
  async function afterFullGc(): Promise<number> {
    const before = await read();
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      fullGc();
      await new Promise((resolve) => setTimeout(resolve, 20));
      const now = await read();
      if (Number.isFinite(now) && now !== before) return now;
    }
    throw new Error('no full GC was observed within 5 s');
  }

  it('is exposed as a gauge', async () => {
    expect(await registry.metrics()).toContain(`# TYPE ${NAME} gauge`);
  });

  it('follows the live heap: up by what is retained, back down once it is released', async () => {
    const base = await afterFullGc();
    let retained: number[][] | null = Array.from({ length: 64 }, () => new Array<number>(100_000).fill(1.5)); // ≈ 50 MB of doubles
    const held = await afterFullGc();
    expect(held - base).toBeGreaterThan(40 * MB);
    expect(retained.length).toBe(64);
    retained = null;
    const released = await afterFullGc();
    expect(held - released).toBeGreaterThan(40 * MB);
  });
});
