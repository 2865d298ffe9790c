import type { FailureReason } from '../../contracts/order-status.js';

/** The reply a system module sends when it refuses a command (the saga reads `reason` and `transient`). */
export interface Rejection {
  reason: FailureReason;
  transient: boolean;
  detail?: string;
}

/**
 * The exception class of a system module's refusals: `rejections` maps each of its codes to the
 * reason and retry verdict of the reply (a record over the enum, so the compiler insists on every code).
 */
export function rejectionException<TCode extends string>(errorName: string, rejections: Record<TCode, Omit<Rejection, 'detail'>>) {
  return class extends Error {
    override name = errorName;

    constructor(
      readonly code: TCode,
      readonly detail: string,
    ) {
      super(`${code}: ${detail}`);
    }

    toRejection(): Rejection {
      return { ...rejections[this.code], detail: this.detail };
    }
  };
}
