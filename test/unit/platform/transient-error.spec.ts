import { readFileSync } from 'node:fs';
import { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSRequestTimeoutError } from 'kafkajs';
import { QueryFailedError } from 'typeorm';
import { z } from 'zod';
import { PoisonMessageError } from '../../../src/platform/messaging/message-processor.service.js';
import { isLockConflict, isTransient, TRANSIENT_FAULT_CODES, TransientError } from '../../../src/platform/messaging/transient-error.js';

/** An error as mysql2 raises it: an Error with a string `code`. */
function mysqlError(code: string, message = `mysql2 ${code}`): Error {
  return Object.assign(new Error(message), { code });
}

/** A server error mysql2 has no name for (MariaDB's own codes): `errno` and `sqlState`, `code` undefined. */
function serverError(errno: number, message = `server error ${errno}`): Error {
  return Object.assign(new Error(message), { code: undefined, errno, sqlState: 'HY000' });
}

describe('isTransient', () => {
  it.each([
    'ECONNREFUSED',
    'ECONNRESET',
    'ETIMEDOUT',
    'EPIPE',
    'ENOTFOUND',
    'EHOSTUNREACH',
    'PROTOCOL_CONNECTION_LOST',
    'PROTOCOL_SEQUENCE_TIMEOUT',
    'ER_CON_COUNT_ERROR',
    'ER_SERVER_SHUTDOWN',
    'ER_QUERY_INTERRUPTED',
    'ER_CLIENT_INTERACTION_TIMEOUT',
    'POOL_CLOSED',
  ])('mysql2 connection fault %s: transient', (code) => {
    expect(isTransient(mysqlError(code, 'opaque'))).toBe(true);
  });

  it.each(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT'])('lock conflict %s: transient', (code) => {
    expect(isTransient(mysqlError(code, 'opaque'))).toBe(true);
  });

  it('a TypeORM QueryFailedError wrapping a deadlock: transient (through driverError)', () => {
    const err = new QueryFailedError('UPDATE orders SET status = ?', ['X'], mysqlError('ER_LOCK_DEADLOCK', 'Deadlock found when trying to get lock'));
    expect(isTransient(err)).toBe(true);
    expect(isTransient({ driverError: { code: 'ECONNRESET' } })).toBe(true);
  });

  it.each([
    ['KafkaJSConnectionError', new KafkaJSConnectionError('Connection error: connect ECONNREFUSED')],
    ['KafkaJSRequestTimeoutError', new KafkaJSRequestTimeoutError('Request produce timed out')],
    ['KafkaJSNumberOfRetriesExceeded', new KafkaJSNumberOfRetriesExceeded(new Error('boom'), { retryCount: 5, retryTime: 3000 })],
  ])('broker fault %s: transient', (_name, err) => {
    expect(isTransient(err)).toBe(true);
  });

  describe('database failover, overload and cut connections: transient', () => {
    it.each([
      ['read-only node (--read-only)', 'ER_OPTION_PREVENTS_STATEMENT', 1290],
      ['read-only transaction', 'ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION', 1792],
      ['read-only mode', 'ER_READ_ONLY_MODE', 1836],
      ['offline mode', 'ER_SERVER_OFFLINE_MODE', 3032],
      ['too many connections', 'ER_CON_COUNT_ERROR', 1040],
      ['too many connections for the user', 'ER_TOO_MANY_USER_CONNECTIONS', 1203],
      ['user resource limit', 'ER_USER_LIMIT_REACHED', 1226],
      ['MySQL statement timeout (max_execution_time)', 'ER_QUERY_TIMEOUT', 3024],
      ['query interrupted', 'ER_QUERY_INTERRUPTED', 1317],
      ['interrupted read', 'ER_NET_READ_INTERRUPTED', 1159],
      ['read error', 'ER_NET_READ_ERROR', 1158],
      ['interrupted write', 'ER_NET_WRITE_INTERRUPTED', 1161],
      ['write error', 'ER_NET_ERROR_ON_WRITE', 1160],
      ['server shutting down', 'ER_SERVER_SHUTDOWN', 1053],
      ['snapshot conflict', 'ER_CHECKREAD', 1020],
    ])('%s (%s): by mysql2 name and by number', (_label, code, errno) => {
      expect(isTransient(mysqlError(code, 'opaque'))).toBe(true);
      expect(isTransient(serverError(errno, 'opaque'))).toBe(true);
      expect(isTransient(new QueryFailedError('INSERT INTO orders', [], Object.assign(mysqlError(code, 'opaque'), { errno })))).toBe(true);
    });

    it.each([
      ['MariaDB statement timeout (max_statement_time)', 1969, 'Query execution was interrupted (max_statement_time exceeded)'],
      ['MariaDB connection killed', 1927, 'Connection was killed'],
      ['server has gone away', 2006, 'MySQL server has gone away'],
      ['lost connection during query', 2013, 'Lost connection to server during query'],
    ])('%s (errno %d, which mysql2 does not name): by number', (_label, errno, message) => {
      expect(isTransient(serverError(errno, message))).toBe(true);
      expect(isTransient(new QueryFailedError('UPDATE orders SET status = ?', ['X'], serverError(errno, message)))).toBe(true);
    });

    it('a Galera node outside the primary component, which answers "unknown command"', () => {
      expect(isTransient(Object.assign(serverError(1047, 'WSREP has not yet prepared node for application use'), { code: 'ER_UNKNOWN_COM_ERROR' }))).toBe(true);
    });

    it('a Node system error is judged by its name, not by its (negative) errno', () => {
      expect(isTransient(Object.assign(new Error('connect ENETUNREACH'), { code: 'ENETUNREACH', errno: -101 }))).toBe(true);
      expect(isTransient(Object.assign(new Error('open failed'), { code: 'ENOENT', errno: -2 }))).toBe(false);
    });

    it('every documented code is in docs/reliability.md', () => {
      const doc = readFileSync(new URL('../../../docs/reliability.md', import.meta.url), 'utf8');
      const section = doc.slice(doc.indexOf('## Transient faults'));
      expect(TRANSIENT_FAULT_CODES.filter((code) => !section.includes(`\`${code}\``))).toEqual([]);
    });
  });

  it('lock conflicts are told apart from the other transient faults, by name or number', () => {
    expect(isLockConflict(serverError(1213))).toBe(true);
    expect(isLockConflict(mysqlError('ER_LOCK_WAIT_TIMEOUT'))).toBe(true);
    expect(isLockConflict(serverError(1290))).toBe(false);
  });

  it('an application TransientError: transient', () => {
    expect(isTransient(new TransientError('inventory database is busy'))).toBe(true);
  });

  it('follows `cause` chains, at any depth', () => {
    expect(isTransient(new Error('saving order failed', { cause: mysqlError('PROTOCOL_CONNECTION_LOST') }))).toBe(true);
    const deep = new Error('handler failed', { cause: new Error('repository failed', { cause: new QueryFailedError('SELECT 1', [], mysqlError('ER_LOCK_WAIT_TIMEOUT')) }) });
    expect(isTransient(deep)).toBe(true);
    expect(isTransient(new Error('publish failed', { cause: new KafkaJSConnectionError('broker down') }))).toBe(true);
  });

  it('recognises a lost connection by its message when the driver gave no code', () => {
    expect(isTransient(new Error("Can't add new command when connection is in closed state"))).toBe(true);
    expect(isTransient(new Error('Connection lost: The server closed the connection.'))).toBe(true);
    expect(isTransient(new Error('Pool is closed.'))).toBe(true);
  });

  describe('not transient: the message itself is at fault, retrying changes nothing', () => {
    it.each([
      ['a plain Error', new Error('cannot read property total of undefined')],
      ['a TypeError', new TypeError('x is not a function')],
      ['a poison message', new PoisonMessageError('invalid envelope')],
      ['a schema validation error', z.object({ a: z.number() }).safeParse({}).error!],
      ['a duplicate key', mysqlError('ER_DUP_ENTRY', "Duplicate entry 'x' for key 'PRIMARY'")],
      ['a duplicate key through TypeORM', new QueryFailedError('INSERT INTO orders', [], mysqlError('ER_DUP_ENTRY', "Duplicate entry 'x'"))],
      ['a syntax error', mysqlError('ER_PARSE_ERROR', 'You have an error in your SQL syntax')],
      ['a data error', mysqlError('ER_DATA_TOO_LONG', "Data too long for column 'topic'")],
      ['a non-transient cause', new Error('outer', { cause: mysqlError('ER_DUP_ENTRY') })],
      ['a duplicate key by number only', serverError(1062, "Duplicate entry 'x' for key 'PRIMARY'")],
      ['a foreign key failure', Object.assign(serverError(1452, 'Cannot add or update a child row'), { code: 'ER_NO_REFERENCED_ROW_2' })],
    ])('%s', (_label, err) => {
      expect(isTransient(err)).toBe(false);
    });

    it.each([null, undefined, 'ECONNRESET', 42, true])('a non-object value (%p)', (value) => {
      expect(isTransient(value)).toBe(false);
    });
  });
});
