import { Injectable } from '@nestjs/common';
import { newId } from '../contracts/ids.js';
import { DataSource } from 'typeorm';
import type { SqlBatch } from '../platform/database/sql-batch.js';
import { toCustomer, type Customer, type CustomerRow } from './order.rows.js';

/** The customer as an order request names them. */
export interface CustomerDetails {
  externalId?: string;
  name: string;
  email: string;
  phone?: string;
}

/**
 * `customers`: one row per OAuth client and that client's customer id, else email; each order refers
 * to one. Customers belong to a client: the same email under two clients is two customers.
 */
@Injectable()
export class CustomerRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Adds the customer's upsert (keyed by the client's customer id, else the email) and the read of
   * its id to `batch`; returns the reader of that id from the batch's results.
   */
  stageUpsert(batch: SqlBatch, clientId: string, c: CustomerDetails, at: Date): (results: unknown[]) => string {
    const customerKey = c.externalId ? `id:${c.externalId}` : `email:${c.email.toLowerCase()}`;
    batch.add(
      `INSERT INTO customers (id, client_id, customer_key, external_id, name, email, phone, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE name = VALUES(name), email = VALUES(email), phone = VALUES(phone), updated_at = VALUES(updated_at)`,
      [newId(), clientId, customerKey, c.externalId ?? null, c.name, c.email, c.phone ?? null, at, at],
    );
    const read = batch.add('SELECT id FROM customers WHERE client_id = ? AND customer_key = ?', [clientId, customerKey]);
    return (results) => (results[read] as Array<{ id: string }>)[0].id;
  }

  async get(id: string): Promise<Customer> {
    const [row] = (await this.dataSource.query('SELECT id, external_id, name, email, phone FROM customers WHERE id = ? LIMIT 1', [id])) as CustomerRow[];
    if (!row) throw new Error(`no customer ${id}`);
    return toCustomer(row);
  }
}
