import { number } from './env-kit.js';

/** The order saga's step deadlines and retry policy (docs/architecture.md §7.4, §7.6). */
export const sagaEnv = {
  SAGA_INVENTORY_TIMEOUT_MS: number({ min: 100 }).default(5000),
  SAGA_INVENTORY_MAX_ATTEMPTS: number({ min: 1 }).default(3),
  SAGA_PAYMENT_TIMEOUT_MS: number({ min: 100 }).default(5000),
  SAGA_PAYMENT_MAX_ATTEMPTS: number({ min: 1 }).default(3),
  SAGA_SHIPPING_TIMEOUT_MS: number({ min: 100 }).default(10000),
  SAGA_SHIPPING_MAX_ATTEMPTS: number({ min: 1 }).default(1),
  SAGA_COMPENSATION_TIMEOUT_MS: number({ min: 100 }).default(10000),
  SAGA_COMPENSATION_MAX_ATTEMPTS: number({ min: 1 }).default(8),
  SAGA_DELIVERY_GRACE_MS: number({ min: 0 }).default(300000),
  SAGA_STALLED_AFTER_MS: number({ min: 1000 }).default(120000),
  SAGA_SWEEP_INTERVAL_MS: number({ min: 100 }).default(5000),
  SAGA_RETRY_BASE_MS: number({ min: 10 }).default(500),
  SAGA_RETRY_MAX_MS: number({ min: 10 }).default(10000),
  SAGA_SCHEDULER_INTERVAL_MS: number({ min: 10 }).default(250),
  SAGA_SCHEDULER_BATCH_SIZE: number({ min: 1 }).default(200),
};
