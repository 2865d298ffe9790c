import Joi from 'joi';
import { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSRequestTimeoutError } from 'kafkajs';
import { QueryFailedError } from 'typeorm';
import { PoisonMessageError } from '../../../src/platform/messaging/message-processor.service.js';
import { isTransient, TransientError } from '../../../src/platform/messaging/transient-error.js';

/** An error as mysql2 raises it: an Error with a string `code`. */
function mysqlError(code: string, message = `mysql2 ${code}`): Error {
  return Object.assign(new Error(message), { code });
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
      ['a Joi validation error', Joi.object({ a: Joi.number().required() }).validate({}).error!],
      ['a duplicate key', mysqlError('ER_DUP_ENTRY', "Duplicate entry 'x' for key 'PRIMARY'")],
      ['a duplicate key through TypeORM', new QueryFailedError('INSERT INTO orders', [], mysqlError('ER_DUP_ENTRY', "Duplicate entry 'x'"))],
      ['a syntax error', mysqlError('ER_PARSE_ERROR', 'You have an error in your SQL syntax')],
      ['a data error', mysqlError('ER_DATA_TOO_LONG', "Data too long for column 'topic'")],
      ['a non-transient cause', new Error('outer', { cause: mysqlError('ER_DUP_ENTRY') })],
    ])('%s', (_label, err) => {
      expect(isTransient(err)).toBe(false);
    });

    it.each([null, undefined, 'ECONNRESET', 42, true])('a non-object value (%p)', (value) => {
      expect(isTransient(value)).toBe(false);
    });
  });
});
