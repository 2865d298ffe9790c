import { registerAs } from '@nestjs/config';
import { env } from './env.js';

export const sagaConfig = registerAs('saga', () => {
  const e = env();
  return {
    inventory: { timeoutMs: e.SAGA_INVENTORY_TIMEOUT_MS as number, maxAttempts: e.SAGA_INVENTORY_MAX_ATTEMPTS as number },
    payment: { timeoutMs: e.SAGA_PAYMENT_TIMEOUT_MS as number, maxAttempts: e.SAGA_PAYMENT_MAX_ATTEMPTS as number },
    shipping: { timeoutMs: e.SAGA_SHIPPING_TIMEOUT_MS as number, maxAttempts: e.SAGA_SHIPPING_MAX_ATTEMPTS as number },
    compensationTimeoutMs: e.SAGA_COMPENSATION_TIMEOUT_MS as number,
    compensationMaxAttempts: e.SAGA_COMPENSATION_MAX_ATTEMPTS as number,
    deliveryGraceMs: e.SAGA_DELIVERY_GRACE_MS as number,
    stalledAfterMs: e.SAGA_STALLED_AFTER_MS as number,
    sweepIntervalMs: e.SAGA_SWEEP_INTERVAL_MS as number,
    retryBaseMs: e.SAGA_RETRY_BASE_MS as number,
    retryMaxMs: e.SAGA_RETRY_MAX_MS as number,
    schedulerIntervalMs: e.SAGA_SCHEDULER_INTERVAL_MS as number,
    schedulerBatchSize: e.SAGA_SCHEDULER_BATCH_SIZE as number,
  };
});
export type SagaConfig = ReturnType<typeof sagaConfig>;
