import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { newId } from '../contracts/ids.js';
import { DataSource } from 'typeorm';
import type { SqlBatch, SqlValue } from '../platform/database/sql-batch.js';
import { toCustomer, type Customer, type CustomerRow } from './order.rows.js';

/** The customer as an order request names them. */
export interface CustomerDetails {
  externalId?: string;
  name: string;
  email: string;
  phone?: string;
}

/** A customer whose id this process already knows, staged for an order that names it. */
export interface KnownCustomer {
  id: string;
  /**
   * The id as the order's row takes it: read from the database by the customer's key and the id
   * known here, so a stale id is NULL, which `customer_id NOT NULL` refuses (ER_BAD_NULL_ERROR).
   */
  column: SqlValue;
}

/**
 * Customers whose ids a process keeps: a client's returning customers are most orders, and knowing
 * the id saves the intake's read of it (a round trip of its own before the order's statements).
 * About 150 bytes an entry.
 */
const KNOWN_CUSTOMERS = 20_000;

/**
 * `customers`: one row per OAuth client and that client's customer id, else email; each order refers
 * to one. Customers belong to a client: the same email under two clients is two customers. A row's id
 * never changes and no row is deleted, so an id once read stays right; the database still checks it.
 */
@Injectable()
export class CustomerRepository {
  private readonly knownIds = new LRUCache<string, string>({ max: KNOWN_CUSTOMERS });

  constructor(private readonly dataSource: DataSource) {}

  /**
   * Adds the customer's upsert (keyed by the client's customer id, else the email) and the read of
   * its id to `batch`; returns the reader of that id from the batch's results.
   */
  stageUpsert(batch: SqlBatch, clientId: string, c: CustomerDetails, at: Date): (results: unknown[]) => string {
    const key = customerKey(c);
    this.stageUpsertOnly(batch, clientId, key, c, at);
    const read = batch.add('SELECT id FROM customers WHERE client_id = ? AND customer_key = ?', [clientId, key]);
    return (results) => (results[read] as Array<{ id: string }>)[0].id;
  }

  /**
   * Adds the customer's upsert to `batch` when this process knows its id (see `remember`), with no
   * read: the order can then go in the same round trip. Null when the id is not known here.
   */
  stageUpsertKnown(batch: SqlBatch, clientId: string, c: CustomerDetails, at: Date): KnownCustomer | null {
    const key = customerKey(c);
    const id = this.knownIds.get(knownIdKey(clientId, key));
    if (id === undefined) return null;
    this.stageUpsertOnly(batch, clientId, key, c, at);
    return { id, column: { sql: '(SELECT id FROM customers WHERE client_id = ? AND customer_key = ? AND id = ?)', params: [clientId, key, id] } };
  }

  /** Keeps a customer's id, read by `stageUpsert` in a transaction that has committed. */
  remember(clientId: string, c: CustomerDetails, id: string): void {
    this.knownIds.set(knownIdKey(clientId, customerKey(c)), id);
  }

  /** Drops a customer's id that the database refused as stale (a table emptied under a running process). */
  forget(clientId: string, c: CustomerDetails): void {
    this.knownIds.delete(knownIdKey(clientId, customerKey(c)));
  }

  private stageUpsertOnly(batch: SqlBatch, clientId: string, key: string, c: CustomerDetails, at: Date): void {
    batch.add(
      `INSERT INTO customers (id, client_id, customer_key, external_id, name, email, phone, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE name = VALUES(name), email = VALUES(email), phone = VALUES(phone), updated_at = VALUES(updated_at)`,
      [newId(), clientId, key, c.externalId ?? null, c.name, c.email, c.phone ?? null, at, at],
    );
  }

  async get(id: string): Promise<Customer> {
    const [row] = (await this.dataSource.query('SELECT id, external_id, name, email, phone FROM customers WHERE id = ? LIMIT 1', [id])) as CustomerRow[];
    if (!row) throw new Error(`no customer ${id}`);
    return toCustomer(row);
  }
}

/** The customer's key within its client: the client's own customer id, else the email (case-insensitive). */
function customerKey(c: CustomerDetails): string {
  return c.externalId ? `id:${c.externalId}` : `email:${c.email.toLowerCase()}`;
}

/** A customer's entry among the known ids: its client and its key (a collision would only fail the database's check). */
function knownIdKey(clientId: string, key: string): string {
  return `${clientId}\n${key}`;
}
