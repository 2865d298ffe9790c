import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { affectedRows, type SqlBatch } from '../platform/database/sql-batch.js';

/** What an Idempotency-Key was first used for. */
export interface IdempotencyKeyUse {
  requestHash: string;
  orderId: string;
  /** Older than the TTL: intake treats the key as absent. */
  expired: boolean;
}

/**
 * `idempotency_keys`: the order each client's Idempotency-Key created. Ages are measured by the
 * database's clock, the one that stamped created_at.
 */
@Injectable()
export class IdempotencyKeyRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Adds the key's row to `batch`: a concurrent request with the same key fails there (duplicate key). */
  stageInsert(batch: SqlBatch, k: { clientId: string; key: string; requestHash: string; orderId: string }): void {
    batch.add('INSERT INTO idempotency_keys (client_id, idem_key, request_hash, order_id) VALUES (?, ?, ?, ?)', [k.clientId, k.key, k.requestHash, k.orderId]);
  }

  async find(clientId: string, key: string, ttlHours: number): Promise<IdempotencyKeyUse | null> {
    const rows = await this.dataSource.query(
      'SELECT request_hash, order_id, created_at < NOW(3) - INTERVAL ? HOUR AS expired FROM idempotency_keys WHERE client_id = ? AND idem_key = ?',
      [ttlHours, clientId, key],
    );
    if (!rows.length) return null;
    return { requestHash: rows[0].request_hash, orderId: rows[0].order_id, expired: Boolean(Number(rows[0].expired)) };
  }

  /** Deletes the key if it is past the TTL (guarded by the age: a concurrent request may have renewed it). */
  async deleteIfExpired(clientId: string, key: string, ttlHours: number): Promise<void> {
    await this.dataSource.query('DELETE FROM idempotency_keys WHERE client_id = ? AND idem_key = ? AND created_at < NOW(3) - INTERVAL ? HOUR', [clientId, key, ttlHours]);
  }

  /** Deletes up to `limit` keys past the TTL, oldest first; returns how many. */
  async deleteExpired(ttlHours: number, limit: number): Promise<number> {
    const result = await this.dataSource.query('DELETE FROM idempotency_keys WHERE created_at < NOW(3) - INTERVAL ? HOUR ORDER BY created_at LIMIT ?', [ttlHours, limit]);
    return affectedRows(result);
  }
}
