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

type ErrorLike = { name?: string; code?: string; message?: string; driverError?: unknown; cause?: unknown };

/** Whether `test` holds for the error or anything it wraps (TypeORM's driverError, `cause`). */
function anyCause(err: unknown, test: (e: ErrorLike) => boolean, seen: Set<object> = new Set()): boolean {
  if (!err || typeof err !== 'object' || seen.has(err)) return false;
  seen.add(err);
  const e = err as ErrorLike;
  return test(e) || anyCause(e.driverError, test, seen) || anyCause(e.cause, test, seen);
}

/**
 * A fault of the infrastructure (database or broker unreachable, deadlock) rather than of the
 * message: such a message is retried with backoff and never dead-lettered (DESIGN §5).
 */
export function isTransient(err: unknown): boolean {
  return anyCause(
    err,
    (e) =>
      e instanceof TransientError ||
      (e.code !== undefined && TRANSIENT_DB_CODES.has(e.code)) ||
      (typeof e.name === 'string' && e.name.startsWith('KafkaJS')) ||
      (typeof e.message === 'string' && /connection (lost|closed|refused)|pool is closed|Can't add new command when connection is in closed state|ECONNREFUSED/i.test(e.message)),
  );
}

const LOCK_CONFLICT_CODES = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']);

/** A deadlock or lock wait timeout: transient, but a sign that smaller transactions would get through. */
export function isLockConflict(err: unknown): boolean {
  return anyCause(err, (e) => e.code !== undefined && LOCK_CONFLICT_CODES.has(e.code));
}
