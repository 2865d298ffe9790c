import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { simulationConfig, type PaymentBehaviour } from '../../config/simulation.config.js';
import type { Random } from '../common/seeded-random.js';
import { rollAndDelay, Simulator } from '../common/simulator.js';

export interface PaymentDecision {
  outcome: 'charge' | 'decline' | 'unavailable' | 'noAnswer' | 'fault';
  delayMs: number;
}

/** One ChargePayment: a single roll split into decline, transient failure, no answer, fault, success. */
export function decidePayment(b: PaymentBehaviour, random: Random): PaymentDecision {
  const { roll, delayMs } = rollAndDelay(b.latency, random);
  let outcome: PaymentDecision['outcome'] = 'charge';
  if (roll < b.declineRate) outcome = 'decline';
  else if (roll < b.declineRate + b.transientRate) outcome = 'unavailable';
  else if (roll < b.declineRate + b.transientRate + b.noAnswerRate) outcome = 'noAnswer';
  else if (roll < b.declineRate + b.transientRate + b.noAnswerRate + b.faultRate) outcome = 'fault';
  return { outcome, delayMs };
}

/**
 * The simulated behaviour of the payment provider: env defaults, overridable per test case, e.g.
 * `app.get(PaymentSimulator).configure({ declineRate: 1 })`.
 */
@Injectable()
export class PaymentSimulator extends Simulator<PaymentBehaviour, PaymentDecision> {
  constructor(@Inject(simulationConfig.KEY) cfg: ConfigType<typeof simulationConfig>) {
    super('payment', cfg.payment, cfg.seed, decidePayment);
  }

  protected rates(b: PaymentBehaviour): Record<string, number> {
    return { declineRate: b.declineRate, transientRate: b.transientRate, noAnswerRate: b.noAnswerRate, faultRate: b.faultRate };
  }
}
