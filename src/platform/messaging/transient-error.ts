/** Thrown by application code for a fault that will pass (a dependency is down or busy). */
export class TransientError extends Error {
  override name = 'TransientError';
}

const TRANSIENT_DB_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_QUERY_INTERRUPTED',
  'ER_CLIENT_INTERACTION_TIMEOUT',
  'POOL_CLOSED',
]);

/**
 * A fault of the infrastructure (database or broker unreachable, deadlock) rather than of the
 * message: such a message is retried with backoff and never dead-lettered (DESIGN §5).
 */
export function isTransient(err: unknown, seen: Set<object> = new Set()): boolean {
  if (!err || typeof err !== 'object' || seen.has(err)) return false;
  seen.add(err);
  const e = err as { name?: string; code?: string; errno?: string | number; retriable?: boolean; driverError?: unknown; message?: string; cause?: unknown };
  if (e instanceof TransientError) return true;
  if (e.code && TRANSIENT_DB_CODES.has(e.code)) return true;
  if (typeof e.name === 'string' && e.name.startsWith('KafkaJS')) return true;
  if (e.driverError && isTransient(e.driverError, seen)) return true;
  if (e.cause && isTransient(e.cause, seen)) return true;
  if (typeof e.message === 'string' && /connection (lost|closed|refused)|pool is closed|Can't add new command when connection is in closed state|ECONNREFUSED/i.test(e.message))
    return true;
  return false;
}

const LOCK_CONFLICT_CODES = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']);

/** A deadlock or lock wait timeout: transient, but a sign that smaller transactions would get through. */
export function isLockConflict(err: unknown, seen: Set<object> = new Set()): boolean {
  if (!err || typeof err !== 'object' || seen.has(err)) return false;
  seen.add(err);
  const e = err as { code?: string; driverError?: unknown; cause?: unknown };
  if (e.code && LOCK_CONFLICT_CODES.has(e.code)) return true;
  return isLockConflict(e.driverError, seen) || isLockConflict(e.cause, seen);
}
