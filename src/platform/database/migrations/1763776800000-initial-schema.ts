import { sqlMigration, TABLE_OPTIONS } from './migration.helpers.js';

/**
 * The whole schema of docs/architecture.md §6, written in column types that MySQL 8 and MariaDB 10.11 read alike
 * (DATETIME(3), DECIMAL, VARCHAR, TEXT; no JSON or UUID column types, whose semantics differ).
 * One statement per table; they run in the order listed.
 */

const CUSTOMERS = `CREATE TABLE customers (
      id CHAR(36) NOT NULL,
      customer_key VARCHAR(320) NOT NULL,
      external_id VARCHAR(100) NULL,
      name VARCHAR(200) NOT NULL,
      email VARCHAR(320) NOT NULL,
      phone VARCHAR(40) NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      UNIQUE KEY uq_customers_key (customer_key),
      KEY ix_customers_email (email)
    ) ${TABLE_OPTIONS}`;

const PRODUCTS = `CREATE TABLE products (
      product_id VARCHAR(64) NOT NULL,
      name VARCHAR(200) NOT NULL,
      unit_price DECIMAL(12,2) NOT NULL,
      currency CHAR(3) NOT NULL,
      stock_on_hand INT NOT NULL,
      stock_reserved INT NOT NULL DEFAULT 0,
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (product_id),
      CONSTRAINT ck_products_stock CHECK (stock_reserved >= 0 AND stock_reserved <= stock_on_hand)
    ) ${TABLE_OPTIONS}`;

const ORDERS = `CREATE TABLE orders (
      id CHAR(36) NOT NULL,
      customer_id CHAR(36) NOT NULL,
      status VARCHAR(32) NOT NULL,
      status_reason VARCHAR(64) NULL,
      version INT NOT NULL DEFAULT 1,
      total DECIMAL(14,2) NULL,
      currency CHAR(3) NOT NULL,
      ship_line1 VARCHAR(200) NOT NULL,
      ship_line2 VARCHAR(200) NULL,
      ship_city VARCHAR(100) NOT NULL,
      ship_postal_code VARCHAR(20) NOT NULL,
      ship_country CHAR(2) NOT NULL,
      correlation_id VARCHAR(200) NOT NULL,
      payment_id VARCHAR(64) NULL,
      shipment_id VARCHAR(64) NULL,
      carrier VARCHAR(64) NULL,
      tracking_number VARCHAR(64) NULL,
      estimated_delivery DATETIME(3) NULL,
      shipment_status VARCHAR(16) NULL,
      created_at DATETIME(3) NOT NULL,
      updated_at DATETIME(3) NOT NULL,
      PRIMARY KEY (id),
      KEY ix_orders_status_updated (status, updated_at),
      KEY ix_orders_customer (customer_id, created_at)
    ) ${TABLE_OPTIONS}`;

const ORDER_ITEMS = `CREATE TABLE order_items (
      id BIGINT NOT NULL AUTO_INCREMENT,
      order_id CHAR(36) NOT NULL,
      line_no INT NOT NULL,
      product_id VARCHAR(64) NOT NULL,
      quantity INT NOT NULL,
      unit_price DECIMAL(12,2) NULL,
      PRIMARY KEY (id),
      UNIQUE KEY uq_order_items_line (order_id, line_no),
      KEY ix_order_items_product (product_id)
    ) ${TABLE_OPTIONS}`;

const ORDER_STATUS_HISTORY = `CREATE TABLE order_status_history (
      id BIGINT NOT NULL AUTO_INCREMENT,
      order_id CHAR(36) NOT NULL,
      from_status VARCHAR(32) NULL,
      to_status VARCHAR(32) NOT NULL,
      reason VARCHAR(64) NULL,
      occurred_at DATETIME(3) NOT NULL,
      PRIMARY KEY (id),
      KEY ix_history_order (order_id, id)
    ) ${TABLE_OPTIONS}`;

const STOCK_RESERVATIONS = `CREATE TABLE stock_reservations (
      id BIGINT NOT NULL AUTO_INCREMENT,
      order_id CHAR(36) NOT NULL,
      product_id VARCHAR(64) NOT NULL,
      quantity INT NOT NULL,
      unit_price DECIMAL(12,2) NOT NULL,
      status VARCHAR(16) NOT NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      UNIQUE KEY uq_reservation_line (order_id, product_id),
      KEY ix_reservation_status (status)
    ) ${TABLE_OPTIONS}`;

const PAYMENTS = `CREATE TABLE payments (
      id CHAR(36) NOT NULL,
      order_id CHAR(36) NOT NULL,
      customer_id VARCHAR(100) NOT NULL,
      amount DECIMAL(14,2) NOT NULL,
      currency CHAR(3) NOT NULL,
      status VARCHAR(16) NOT NULL,
      refunded_amount DECIMAL(14,2) NOT NULL DEFAULT 0,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      UNIQUE KEY uq_payments_order (order_id)
    ) ${TABLE_OPTIONS}`;

const SHIPMENTS = `CREATE TABLE shipments (
      id CHAR(36) NOT NULL,
      order_id CHAR(36) NOT NULL,
      carrier VARCHAR(64) NOT NULL,
      tracking_number VARCHAR(64) NOT NULL,
      status VARCHAR(16) NOT NULL,
      estimated_delivery DATETIME(3) NOT NULL,
      deliver_after DATETIME(3) NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      UNIQUE KEY uq_shipments_order (order_id),
      UNIQUE KEY uq_shipments_tracking (tracking_number),
      KEY ix_shipments_status_due (status, deliver_after)
    ) ${TABLE_OPTIONS}`;

const OUTBOX = `CREATE TABLE outbox (
      id BIGINT NOT NULL AUTO_INCREMENT,
      shard SMALLINT NOT NULL,
      topic VARCHAR(249) NOT NULL,
      message_key VARCHAR(64) NOT NULL,
      event_id CHAR(36) NOT NULL,
      event_type VARCHAR(100) NOT NULL,
      headers TEXT NOT NULL,
      payload MEDIUMTEXT NOT NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      attempts INT NOT NULL DEFAULT 0,
      PRIMARY KEY (id),
      KEY ix_outbox_unsent (shard, id)
    ) ${TABLE_OPTIONS}`;

/**
 * One lock row per outbox shard: a relay owns a shard while it publishes it, so messages of one
 * order (always the same shard) leave in commit order even with several relays running.
 */
const OUTBOX_SHARDS = `CREATE TABLE outbox_shards (
      shard SMALLINT NOT NULL,
      PRIMARY KEY (shard)
    ) ${TABLE_OPTIONS}`;

const OUTBOX_SHARD_ROWS = `INSERT INTO outbox_shards (shard) VALUES ${Array.from({ length: 256 }, (_, i) => `(${i})`).join(',')}`;

const PROCESSED_MESSAGES = `CREATE TABLE processed_messages (
      consumer_group VARCHAR(100) NOT NULL,
      event_id CHAR(36) NOT NULL,
      processed_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (consumer_group, event_id),
      KEY ix_processed_at (processed_at)
    ) ${TABLE_OPTIONS}`;

const IDEMPOTENCY_KEYS = `CREATE TABLE idempotency_keys (
      client_id VARCHAR(200) NOT NULL,
      idem_key VARCHAR(200) NOT NULL,
      request_hash CHAR(64) NOT NULL,
      order_id CHAR(36) NOT NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (client_id, idem_key),
      KEY ix_idempotency_created (created_at)
    ) ${TABLE_OPTIONS}`;

/** The saga's outstanding steps: one row per order and step, with the deadline the scheduler watches. */
const SAGA_STEPS = `CREATE TABLE saga_steps (
      order_id CHAR(36) NOT NULL,
      step VARCHAR(32) NOT NULL,
      state VARCHAR(16) NOT NULL,
      attempt INT NOT NULL,
      due_at DATETIME(3) NOT NULL,
      last_error VARCHAR(200) NULL,
      correlation_id VARCHAR(200) NOT NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (order_id, step),
      KEY ix_saga_steps_due (state, due_at)
    ) ${TABLE_OPTIONS}`;

export class InitialSchema1763776800000 extends sqlMigration(
  'InitialSchema1763776800000',
  [
    CUSTOMERS,
    PRODUCTS,
    ORDERS,
    ORDER_ITEMS,
    ORDER_STATUS_HISTORY,
    STOCK_RESERVATIONS,
    PAYMENTS,
    SHIPMENTS,
    OUTBOX,
    OUTBOX_SHARDS,
    OUTBOX_SHARD_ROWS,
    PROCESSED_MESSAGES,
    IDEMPOTENCY_KEYS,
    SAGA_STEPS,
  ],
  [
    'DROP TABLE IF EXISTS saga_steps',
    'DROP TABLE IF EXISTS idempotency_keys',
    'DROP TABLE IF EXISTS processed_messages',
    'DROP TABLE IF EXISTS outbox_shards',
    'DROP TABLE IF EXISTS outbox',
    'DROP TABLE IF EXISTS shipments',
    'DROP TABLE IF EXISTS payments',
    'DROP TABLE IF EXISTS stock_reservations',
    'DROP TABLE IF EXISTS order_status_history',
    'DROP TABLE IF EXISTS order_items',
    'DROP TABLE IF EXISTS orders',
    'DROP TABLE IF EXISTS products',
    'DROP TABLE IF EXISTS customers',
  ],
) {}
