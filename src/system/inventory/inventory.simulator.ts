import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { behaviourProblems, simulationConfig, type InventoryBehaviour } from '../../config/simulation.config.js';
import type { Random } from '../common/seeded-random.js';
import { rateProblems, Simulator } from '../common/simulator.js';

export interface InventoryDecision {
  outcome: 'available' | 'unavailable';
  /** How long the answer takes. */
  delayMs: number;
}

/** One ReserveStock: a transient failure with `failureRate`, and a latency in the range. */
export function decideInventory(b: InventoryBehaviour, random: Random): InventoryDecision {
  const roll = random.next();
  const delayMs = random.int(b.latency.minMs, b.latency.maxMs);
  return { outcome: roll < b.failureRate ? 'unavailable' : 'available', delayMs };
}

/**
 * The simulated behaviour of the inventory system: env defaults, overridable per test case, e.g.
 * `app.get(InventorySimulator).configure({ failureRate: 1 })`.
 */
@Injectable()
export class InventorySimulator extends Simulator<InventoryBehaviour> {
  constructor(@Inject(simulationConfig.KEY) cfg: ConfigType<typeof simulationConfig>) {
    super('inventory', cfg.inventory, cfg.seed);
  }

  decide(): InventoryDecision {
    return decideInventory(this.behaviour, this.random);
  }

  /** Latency of a command that cannot fail (release, commit). */
  latency(): number {
    return this.random.int(this.behaviour.latency.minMs, this.behaviour.latency.maxMs);
  }

  protected problems(b: InventoryBehaviour): string[] {
    return [...rateProblems({ failureRate: b.failureRate }), ...behaviourProblems('inventory', b)];
  }
}
