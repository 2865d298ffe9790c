import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { simulationConfig, type InventoryBehaviour } from '../../config/simulation.config.js';
import type { Random } from '../common/seeded-random.js';
import { rollAndDelay, Simulator } from '../common/simulator.js';

export interface InventoryDecision {
  outcome: 'available' | 'unavailable';
  /** How long the answer takes. */
  delayMs: number;
}

/** One ReserveStock: a transient failure with `failureRate`, and a latency in the range. */
export function decideInventory(b: InventoryBehaviour, random: Random): InventoryDecision {
  const { roll, delayMs } = rollAndDelay(b.latency, random);
  return { outcome: roll < b.failureRate ? 'unavailable' : 'available', delayMs };
}

/**
 * The simulated behaviour of the inventory system: env defaults, overridable per test case, e.g.
 * `app.get(InventorySimulator).configure({ failureRate: 1 })`.
 */
@Injectable()
export class InventorySimulator extends Simulator<InventoryBehaviour, InventoryDecision> {
  constructor(@Inject(simulationConfig.KEY) cfg: ConfigType<typeof simulationConfig>) {
    super('inventory', cfg.inventory, cfg.seed, decideInventory);
  }

  protected rates(b: InventoryBehaviour): Record<string, number> {
    return { failureRate: b.failureRate };
  }
}
