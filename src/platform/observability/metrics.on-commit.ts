import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Observations of work staged inside a transaction (an order reaching a terminal status, a saga step
 * answered) count only once that transaction commits: a consumer batch that rolls back and runs
 * again message by message must not count its orders twice, nor a failed one at all.
 */
const pending = new AsyncLocalStorage<Array<() => void>>();

/** Runs `transaction`; what `onCommit` was given inside it is applied once it resolves, and dropped if it rejects. */
export async function observedOnCommit<T>(transaction: () => Promise<T>): Promise<T> {
  const observations: Array<() => void> = [];
  const result = await pending.run(observations, transaction);
  for (const observe of observations) observe();
  return result;
}

/** Applies `observe` once the enclosing `observedOnCommit` transaction commits; at once outside of one. */
export function onCommit(observe: () => void): void {
  const observations = pending.getStore();
  if (observations) observations.push(observe);
  else observe();
}
