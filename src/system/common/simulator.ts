import { behaviourProblems, type LatencyRange } from '../../config/simulation.config.js';
import type { SystemModule } from './compensated-orders.js';
import { createRandom, moduleSeed, type Random } from './seeded-random.js';

/** The first two draws of every decision, in this order, so that seeded runs stay reproducible. */
export function rollAndDelay(latency: LatencyRange, random: Random): { roll: number; delayMs: number } {
  const roll = random.next();
  return { roll, delayMs: random.int(latency.minMs, latency.maxMs) };
}

/**
 * Base of the three module simulators: env-driven defaults, per-case overrides for tests running
 * the app in-process (`configure`), and `reset` back to the defaults and the start of the seeded
 * sequence. `decide` draws the module's next decision (its pure `decideX` function).
 */
export abstract class Simulator<B extends { latency: LatencyRange }, D> {
  private current: B;
  private rng: Random;

  protected constructor(
    private readonly module: SystemModule,
    private readonly defaults: B,
    private readonly seed: number | null,
    private readonly decision: (behaviour: B, random: Random) => D,
  ) {
    this.current = { ...defaults };
    this.rng = createRandom(moduleSeed(seed, module));
  }

  /** What the module currently does; check it before every change. */
  get behaviour(): Readonly<B> {
    return this.current;
  }

  /** The next simulated answer to a command that can fail. */
  decide(): D {
    return this.decision(this.current, this.rng);
  }

  /** Latency of a command that cannot fail (release, commit, refund). */
  latency(): number {
    return this.rng.int(this.current.latency.minMs, this.current.latency.maxMs);
  }

  /** Overrides some fields until `reset`; throws on an inconsistent behaviour and changes nothing. */
  configure(overrides: Partial<B>): void {
    const next = { ...this.current, ...overrides };
    const problems = [...rateProblems(this.rates(next)), ...behaviourProblems(this.module, next), ...this.otherProblems(next)];
    if (problems.length) throw new RangeError(`invalid ${this.module} simulation: ${problems.join('; ')}`);
    this.current = next;
  }

  /** Back to the configured defaults and to the start of the seeded sequence. */
  reset(): void {
    this.current = { ...this.defaults };
    this.rng = createRandom(moduleSeed(this.seed, this.module));
  }

  /** The behaviour's probabilities, by name, each between 0 and 1. */
  protected abstract rates(behaviour: B): Record<string, number>;

  /** Problems of the module's own fields beyond its rates and latency. */
  protected otherProblems(_behaviour: B): string[] {
    return [];
  }
}

export function rateProblems(fields: Record<string, number>): string[] {
  return Object.entries(fields)
    .filter(([, v]) => !(Number.isFinite(v) && v >= 0 && v <= 1))
    .map(([k, v]) => `${k} must be between 0 and 1 (got ${v})`);
}
