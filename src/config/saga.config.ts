import { registerAs } from '@nestjs/config';
import { env } from './env.js';

export const sagaConfig = registerAs('saga', () => {
  const e = env();
  return {
    inventory: { timeoutMs: e.SAGA_INVENTORY_TIMEOUT_MS, maxAttempts: e.SAGA_INVENTORY_MAX_ATTEMPTS },
    payment: { timeoutMs: e.SAGA_PAYMENT_TIMEOUT_MS, maxAttempts: e.SAGA_PAYMENT_MAX_ATTEMPTS },
    shipping: { timeoutMs: e.SAGA_SHIPPING_TIMEOUT_MS, maxAttempts: e.SAGA_SHIPPING_MAX_ATTEMPTS },
    compensationTimeoutMs: e.SAGA_COMPENSATION_TIMEOUT_MS,
    compensationMaxAttempts: e.SAGA_COMPENSATION_MAX_ATTEMPTS,
    deliveryGraceMs: e.SAGA_DELIVERY_GRACE_MS,
    stalledAfterMs: e.SAGA_STALLED_AFTER_MS,
    sweepIntervalMs: e.SAGA_SWEEP_INTERVAL_MS,
    retryBaseMs: e.SAGA_RETRY_BASE_MS,
    retryMaxMs: e.SAGA_RETRY_MAX_MS,
    schedulerIntervalMs: e.SAGA_SCHEDULER_INTERVAL_MS,
    schedulerBatchSize: e.SAGA_SCHEDULER_BATCH_SIZE,
  };
});
export type SagaConfig = ReturnType<typeof sagaConfig>;
