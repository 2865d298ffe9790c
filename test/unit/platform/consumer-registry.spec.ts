import { ConsumerRegistryService, type ConsumerListener, type SupervisedConsumer } from '../../../src/platform/messaging/consumer-registry.service.js';
import { consumerRestarts } from '../../../src/platform/observability/metrics.counters.js';
import { eventually } from '../../support/eventually.js';

/**
 * A consumer group's consumer as the registry sees it, driven by the test: each launch is recorded
 * with its listener, and the test decides when it joins, goes quiet or crashes.
 */
class ScriptedConsumer implements SupervisedConsumer {
  readonly launches: ConsumerListener[] = [];
  readonly launchedAt: number[] = [];
  drains = 0;
  closes = 0;
  inBatch = false;
  /** What the next launch does: join at once, start without joining yet, or fail (a broker that is down). */
  onLaunch: 'join' | 'start' | 'fail' = 'join';

  async launch(listener: ConsumerListener): Promise<void> {
    this.launches.push(listener);
    this.launchedAt.push(Date.now());
    if (this.onLaunch === 'fail') throw new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9092');
    if (this.onLaunch === 'join') listener.joined();
  }
  async drain(): Promise<void> {
    this.drains += 1;
  }
  async close(): Promise<void> {
    this.closes += 1;
  }
  busy(): boolean {
    return this.inBatch;
  }
  get current(): ConsumerListener {
    return this.launches[this.launches.length - 1];
  }
}

const FETCH_MAX_WAIT_MS = 5000;
const STALE_MS = FETCH_MAX_WAIT_MS + 15000;
const DEAD_AFTER_MS = 60000;

function setUp() {
  const registry = new ConsumerRegistryService({ fetchMaxWaitMs: FETCH_MAX_WAIT_MS, consumerDeadAfterMs: DEAD_AFTER_MS });
  const consumer = new ScriptedConsumer();
  registry.register('order-flow-payment', consumer);
  return { registry, consumer, state: () => registry.snapshot()['order-flow-payment'] };
}

describe('ConsumerRegistryService: every consumer group keeps running', () => {
  let stop: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await stop?.();
    stop = null;
  });

  it('starts each group and resolves once it has joined: connected, since then', async () => {
    const { registry, consumer, state } = setUp();
    stop = () => registry.beforeApplicationShutdown();
    const before = Date.now();
    await registry.startAll();
    expect(consumer.launches).toHaveLength(1);
    expect(state()).toMatchObject({ state: 'connected', lastError: null, restarts: 0 });
    expect(Date.parse(state().since)).toBeGreaterThanOrEqual(before);
  });

  it('a crash on any error (a TypeError included) starts the group again: reconnecting with why, then connected', async () => {
    const { registry, consumer, state } = setUp();
    stop = () => registry.beforeApplicationShutdown();
    await registry.startAll();
    const restartsBefore = (await consumerRestarts.get()).values.find((v) => v.labels.consumer_group === 'order-flow-payment')?.value ?? 0;

    consumer.onLaunch = 'start';
    consumer.current.crashed(new TypeError("Cannot read properties of undefined (reading 'total')"));
    await eventually(
      () => consumer.closes,
      (n) => n === 1,
      { what: 'the crashed consumer to be closed' },
    );
    expect(state()).toMatchObject({ state: 'reconnecting', lastError: "TypeError: Cannot read properties of undefined (reading 'total')" });
    const reconnectingSince = state().since;

    await eventually(
      () => consumer.launches.length,
      (n) => n === 2,
      { what: 'a second launch', timeoutMs: 3000 },
    );
    expect(state()).toMatchObject({ state: 'reconnecting', since: reconnectingSince, restarts: 1 });
    consumer.current.joined();
    expect(state()).toMatchObject({ state: 'connected', restarts: 1, lastError: expect.stringContaining('TypeError') });
    const restartsAfter = (await consumerRestarts.get()).values.find((v) => v.labels.consumer_group === 'order-flow-payment')?.value ?? 0;
    expect(restartsAfter - restartsBefore).toBe(1);
  });

  it('keeps trying while the launches fail, with a growing delay, and ignores what an old consumer reports', async () => {
    const { registry, consumer, state } = setUp();
    stop = () => registry.beforeApplicationShutdown();
    consumer.onLaunch = 'fail';
    void registry.startAll();
    await eventually(
      () => consumer.launches.length,
      (n) => n >= 3,
      { what: 'three launches', timeoutMs: 5000 },
    );
    const [t0, t1, t2] = consumer.launchedAt;
    expect(t2 - t1).toBeGreaterThanOrEqual(1.5 * (t1 - t0));
    expect(state()).toMatchObject({ state: 'reconnecting', lastError: expect.stringContaining('ECONNREFUSED') });

    // The first (failed) launch's consumer says it joined late: that changes nothing.
    consumer.launches[0].joined();
    expect(state().state).toBe('reconnecting');
  });

  it('a joined consumer the broker has not been heard from for a while is reconnecting since it was last heard from', async () => {
    const { registry, consumer, state } = setUp();
    stop = () => registry.beforeApplicationShutdown();
    await registry.startAll();
    const joinedAt = Date.parse(state().since);
    const quiet = registry.snapshot(joinedAt + STALE_MS + 1000)['order-flow-payment'];
    expect(quiet.state).toBe('reconnecting');
    expect(Date.parse(quiet.since)).toBeLessThanOrEqual(joinedAt + 50);
    // In the middle of a long batch it is working, not gone.
    consumer.inBatch = true;
    expect(registry.snapshot(joinedAt + STALE_MS + 1000)['order-flow-payment'].state).toBe('connected');
  });

  it('is dead (liveness fails) only once not connected for longer than CONSUMER_DEAD_AFTER_S', async () => {
    const { registry, consumer, state } = setUp();
    stop = () => registry.beforeApplicationShutdown();
    await registry.startAll();
    expect(registry.dead()).toEqual([]);
    consumer.onLaunch = 'fail';
    consumer.current.crashed(new Error('KafkaJSNumberOfRetriesExceeded'));
    await eventually(
      () => state().state,
      (s) => s === 'reconnecting',
      { what: 'reconnecting' },
    );
    const since = Date.parse(state().since);
    expect(registry.dead(since + DEAD_AFTER_MS - 1000)).toEqual([]);
    expect(registry.dead(since + DEAD_AFTER_MS + 1000)).toEqual(['order-flow-payment']);
    // A group that never joined since the process started counts from the start.
    const fresh = new ConsumerRegistryService({ fetchMaxWaitMs: FETCH_MAX_WAIT_MS, consumerDeadAfterMs: DEAD_AFTER_MS });
    fresh.register('order-flow-shipping', new ScriptedConsumer(), 1000);
    expect(fresh.dead(1000 + DEAD_AFTER_MS + 1)).toEqual(['order-flow-shipping']);
  });

  it('on shutdown drains every group once, reports it stopped (never dead) and starts nothing again', async () => {
    const { registry, consumer, state } = setUp();
    await registry.startAll();
    const listener = consumer.current;
    await registry.beforeApplicationShutdown();
    expect(consumer.drains).toBe(1);
    expect(state().state).toBe('stopped');
    // What the stopped consumer reports on its way out restarts nothing.
    listener.crashed(new Error('the consumer reported consumer.stop on its own'));
    await new Promise((r) => setImmediate(r));
    expect(consumer.launches).toHaveLength(1);
    expect(registry.dead(Date.now() + 10 * DEAD_AFTER_MS)).toEqual([]);
  });

  it('shutdown during the wait before a restart ends the wait: no new launch', async () => {
    const { registry, consumer } = setUp();
    await registry.startAll();
    consumer.current.crashed(new Error('boom'));
    await eventually(
      () => consumer.closes,
      (n) => n === 1,
      { what: 'the crashed consumer to be closed' },
    );
    await registry.beforeApplicationShutdown();
    // Proving that nothing happens takes a wait: longer than the first restart delay (500 ms).
    await new Promise((r) => setTimeout(r, 700));
    expect(consumer.launches).toHaveLength(1);
  });
});
