import { InitialSchema1763776800000 } from './1763776800000-initial-schema.js';
import { OutboxAvailableAt1763780400000 } from './1763780400000-outbox-available-at.js';
import { ShipmentsCorrelationId1763791200000 } from './1763791200000-shipments-correlation-id.js';
import { SagaStepCommand1763794800000 } from './1763794800000-saga-step-command.js';
import { OutboxParked1764590400000 } from './1764590400000-outbox-parked.js';
import { SagaFaultPaths1765000000000 } from './1765000000000-saga-fault-paths.js';
import { OutboxShardLeases1765000100000 } from './1765000100000-outbox-shard-leases.js';
import { OutboxTraceContext1765100000000 } from './1765100000000-outbox-trace-context.js';
import { OrderOwnership1765200000000 } from './1765200000000-order-ownership.js';
import { OrderListing1765300000000 } from './1765300000000-order-listing.js';
import { OrderCancelRequest1765310000000 } from './1765310000000-order-cancel-request.js';
import { OrderEvents1765320000000 } from './1765320000000-order-events.js';
import { StatusEventsInHistory1765400000000 } from './1765400000000-status-events-in-history.js';

/** Migrations in the order they run. Listed explicitly: ESM has no reliable glob loading. */
export const MIGRATIONS = [
  InitialSchema1763776800000,
  OutboxAvailableAt1763780400000,
  ShipmentsCorrelationId1763791200000,
  SagaStepCommand1763794800000,
  OutboxParked1764590400000,
  SagaFaultPaths1765000000000,
  OutboxShardLeases1765000100000,
  OutboxTraceContext1765100000000,
  OrderOwnership1765200000000,
  OrderListing1765300000000,
  OrderCancelRequest1765310000000,
  OrderEvents1765320000000,
  StatusEventsInHistory1765400000000,
];
