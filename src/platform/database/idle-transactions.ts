import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';

interface PooledConnection {
  query(sql: string, callback: (err: Error | null) => void): unknown;
}
interface ConnectionPool {
  on(event: 'acquire', listener: (connection: PooledConnection) => void): unknown;
}

/**
 * Has the database end any of our sessions that stays idle inside a transaction for `seconds`.
 *
 * A replica that hangs (SIGSTOP, a frozen VM, a stop-the-world pause) or loses its network in the middle
 * of a transaction keeps that transaction's row locks for as long as the database keeps its session:
 * hours (wait_timeout). Meanwhile every other replica's batch that touches one of those orders waits out
 * innodb_lock_wait_timeout, fails and waits again, so partitions taken over from the lost replica make
 * no progress at all. Our transactions never wait on anything but the database, so only a replica that
 * hung or was cut off stays idle inside one; if a live one ever did, its next statement fails with a lost
 * connection, a transient fault that is retried.
 *
 * MariaDB (10.3+) has idle_transaction_timeout; MySQL has no equivalent and skips the executable comment.
 */
export function endIdleTransactionsAfter(dataSource: DataSource, seconds: number): void {
  if (seconds <= 0) return;
  const pool = (dataSource.driver as unknown as { pool?: ConnectionPool }).pool;
  if (!pool) return;
  const sql = `SET @order_flow_session = 1 /*M!100300 , SESSION idle_transaction_timeout = ${Math.ceil(seconds)} */`;
  const prepared = new WeakSet<PooledConnection>();
  const logger = new Logger('Database');
  // Set on a connection's first use, ahead of the caller's statements in its queue (no extra wait);
  // this also covers the connection the pool opened before this listener existed.
  pool.on('acquire', (connection) => {
    if (prepared.has(connection)) return;
    prepared.add(connection);
    connection.query(sql, (err) => {
      if (err) logger.warn(`could not set idle_transaction_timeout (${err.message}); a hung replica's locks last until its session ends`);
    });
  });
}
