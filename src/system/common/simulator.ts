import { createRandom, moduleSeed, type Random } from './seeded-random.js';

/**
 * Base of the three module simulators: env-driven defaults, per-case overrides for tests running
 * the app in-process (`configure`), and `reset` back to the defaults and the start of the seeded
 * sequence.
 */
export abstract class Simulator<B extends object> {
  private current: B;
  private rng: Random;

  protected constructor(
    private readonly module: string,
    private readonly defaults: B,
    private readonly seed: number | null,
  ) {
    this.current = { ...defaults };
    this.rng = createRandom(moduleSeed(seed, module));
  }

  /** What the module currently does; check it before every change. */
  get behaviour(): Readonly<B> {
    return this.current;
  }

  /** Overrides some fields until `reset`; throws on an inconsistent behaviour and changes nothing. */
  configure(overrides: Partial<B>): void {
    const next = { ...this.current, ...overrides };
    const problems = this.problems(next);
    if (problems.length) throw new RangeError(`invalid ${this.module} simulation: ${problems.join('; ')}`);
    this.current = next;
  }

  /** Back to the configured defaults and to the start of the seeded sequence. */
  reset(): void {
    this.current = { ...this.defaults };
    this.rng = createRandom(moduleSeed(this.seed, this.module));
  }

  protected get random(): Random {
    return this.rng;
  }

  protected abstract problems(behaviour: B): string[];
}

export function rateProblems(fields: Record<string, number>): string[] {
  return Object.entries(fields)
    .filter(([, v]) => !(Number.isFinite(v) && v >= 0 && v <= 1))
    .map(([k, v]) => `${k} must be between 0 and 1 (got ${v})`);
}
