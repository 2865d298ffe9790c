import type { INestApplicationContext } from '@nestjs/common';
import type { Address, OrderLine } from '../../src/contracts/messages.js';
import { CustomerRepository, type CustomerDetails } from '../../src/order-store/customer.repository.js';
import { OrderRepository } from '../../src/order-store/order.repository.js';
import { SqlBatch } from '../../src/platform/database/sql-batch.js';

export interface NewOrder {
  id: string;
  customer: CustomerDetails;
  shippingAddress: Address;
  items: OrderLine[];
  currency: string;
  correlationId: string;
  at: Date;
  /** The owning OAuth client (default `order-flow-dev`, the test token's client). */
  clientId?: string;
}

/**
 * Writes an order as the intake does (RECEIVED, in its two round trips: the customer, then the
 * order), without its OrderCreated outbox row. `run` runs each batch; `last` is true for the second.
 * Returns the customer's id.
 */
export async function writeReceivedOrder(app: Pick<INestApplicationContext, 'get'>, run: (batch: SqlBatch, last: boolean) => Promise<unknown[]>, o: NewOrder): Promise<string> {
  const first = new SqlBatch();
  const clientId = o.clientId ?? 'order-flow-dev';
  const customerIdOf = app.get(CustomerRepository).stageUpsert(first, clientId, o.customer, o.at);
  const customerId = customerIdOf(await run(first, false));
  const second = new SqlBatch();
  app.get(OrderRepository).stageReceived(second, { ...o, clientId, customerId });
  await run(second, true);
  return customerId;
}
