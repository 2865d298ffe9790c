/** Thrown by application code for a fault that will pass (a dependency is down or busy). */
export class TransientError extends Error {
  override name = 'TransientError';
}

/**
 * Faults of the connection or the network, named by Node (`E…`) or by mysql2 (`PROTOCOL_…`, pool).
 * docs/reliability.md ("Transient faults") lists every entry of this file with why it is there.
 */
const TRANSIENT_CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'PROTOCOL_ENQUEUE_AFTER_QUIT',
  'POOL_CLOSED',
  'POOL_ENQUEUELIMIT',
]);

/**
 * Server errors that say nothing about the statement or the message, only about the server's state
 * at that moment (failover, overload, restart, a cut connection). Matched by number, because mysql2
 * names only the MySQL codes: MariaDB's own (1900 and up) arrive with `errno` and no `code`.
 */
const TRANSIENT_SERVER_ERRNOS = new Map<number, string>([
  // concurrency: the transaction lost a race, the same work succeeds when run again
  [1020, 'ER_CHECKREAD'],
  [1205, 'ER_LOCK_WAIT_TIMEOUT'],
  [1213, 'ER_LOCK_DEADLOCK'],
  [1689, 'ER_LOCK_ABORTED'],
  // a read-only node: the old primary during a failover, or a replica behind a stale address
  [1290, 'ER_OPTION_PREVENTS_STATEMENT'],
  [1792, 'ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION'],
  [1836, 'ER_READ_ONLY_MODE'],
  [3032, 'ER_SERVER_OFFLINE_MODE'],
  // overload: no connection left for us right now
  [1040, 'ER_CON_COUNT_ERROR'],
  [1041, 'ER_OUT_OF_RESOURCES'],
  [1203, 'ER_TOO_MANY_USER_CONNECTIONS'],
  [1226, 'ER_USER_LIMIT_REACHED'],
  // statement timeouts (MariaDB max_statement_time, MySQL max_execution_time) and interruptions
  [1317, 'ER_QUERY_INTERRUPTED'],
  [1969, 'ER_STATEMENT_TIMEOUT'],
  [3024, 'ER_QUERY_TIMEOUT'],
  // the server is going away, or the connection was cut or killed under us
  [1053, 'ER_SERVER_SHUTDOWN'],
  [1152, 'ER_ABORTING_CONNECTION'],
  [1158, 'ER_NET_READ_ERROR'],
  [1159, 'ER_NET_READ_INTERRUPTED'],
  [1160, 'ER_NET_ERROR_ON_WRITE'],
  [1161, 'ER_NET_WRITE_INTERRUPTED'],
  [1184, 'ER_NEW_ABORTING_CONNECTION'],
  [1927, 'ER_CONNECTION_KILLED'],
  [2006, 'CR_SERVER_GONE_ERROR'],
  [2013, 'CR_SERVER_LOST'],
  [4031, 'ER_CLIENT_INTERACTION_TIMEOUT'],
]);
const TRANSIENT_SERVER_CODES = new Set(TRANSIENT_SERVER_ERRNOS.values());

/** The transient faults this service recognises, by name (for the documentation and its test). */
export const TRANSIENT_FAULT_CODES: readonly string[] = [...TRANSIENT_CONNECTION_CODES, ...TRANSIENT_SERVER_CODES];

/**
 * Messages of faults that come without a code: a closed mysql2 connection, and the node of a Galera
 * cluster that is not (yet) part of the primary component (it answers "unknown command", 1047).
 */
const TRANSIENT_MESSAGE = /connection (lost|closed|refused)|pool is closed|Can't add new command when connection is in closed state|ECONNREFUSED|WSREP has not yet prepared node/i;

type ErrorLike = { name?: string; code?: unknown; errno?: unknown; message?: string; driverError?: unknown; cause?: unknown };

/** Whether `test` holds for the error or anything it wraps (TypeORM's driverError, `cause`). */
function anyCause(err: unknown, test: (e: ErrorLike) => boolean, seen: Set<object> = new Set()): boolean {
  if (!err || typeof err !== 'object' || seen.has(err)) return false;
  seen.add(err);
  const e = err as ErrorLike;
  return test(e) || anyCause(e.driverError, test, seen) || anyCause(e.cause, test, seen);
}

function hasTransientCode(e: ErrorLike): boolean {
  if (typeof e.code === 'string' && (TRANSIENT_CONNECTION_CODES.has(e.code) || TRANSIENT_SERVER_CODES.has(e.code))) return true;
  // Only the server's errors carry a numeric errno; Node's system errors carry a negative one.
  return typeof e.errno === 'number' && TRANSIENT_SERVER_ERRNOS.has(e.errno);
}

/**
 * A fault of the infrastructure (database or broker unreachable, read-only or overloaded, deadlock)
 * rather than of the message: such a message is retried with backoff and never dead-lettered.
 */
export function isTransient(err: unknown): boolean {
  return anyCause(
    err,
    (e) =>
      e instanceof TransientError ||
      hasTransientCode(e) ||
      (typeof e.name === 'string' && e.name.startsWith('KafkaJS')) ||
      (typeof e.message === 'string' && TRANSIENT_MESSAGE.test(e.message)),
  );
}

const LOCK_CONFLICT_CODES = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']);
const LOCK_CONFLICT_ERRNOS = new Set([1205, 1213]);

/** A deadlock or lock wait timeout: transient, but a sign that smaller transactions would get through. */
export function isLockConflict(err: unknown): boolean {
  return anyCause(err, (e) => (typeof e.code === 'string' && LOCK_CONFLICT_CODES.has(e.code)) || (typeof e.errno === 'number' && LOCK_CONFLICT_ERRNOS.has(e.errno)));
}
