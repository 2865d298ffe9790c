import 'reflect-metadata';
import { Logger, type Type } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { Test, type TestingModule } from '@nestjs/testing';
import { randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import type { Envelope } from '../../../src/contracts/envelope.js';

/** One outbox row as the relay would publish it. */
export interface StagedMessage {
  topic: string;
  eventType: string;
  envelope: Envelope<string, any>;
  /** available_at − the moment the handler started (the simulated latency, give or take the handler's own time). */
  availableAt: Date;
}

export interface SystemHarness {
  moduleRef: TestingModule;
  dataSource: DataSource;
  /** Runs `work` in one transaction, as the message processor does, and returns when it committed. */
  inTx<T>(work: (tx: EntityManager) => Promise<T>): Promise<T>;
  /**
   * Runs `work` in a transaction on a connection of its own (beside one `inTx` holds open) that gives
   * up on any lock after `lockWaitS` seconds: commits, or rolls back if `work` throws.
   */
  elsewhere<T>(work: (tx: EntityManager) => Promise<T>, lockWaitS?: number): Promise<T>;
  staged(orderId: string): Promise<StagedMessage[]>;
  /** A fresh product of its own, so suites never share stock. */
  product(stock: number, unitPrice: number, currency?: string): Promise<string>;
  stock(productId: string): Promise<{ onHand: number; reserved: number }>;
  close(): Promise<void>;
}

/**
 * A Nest testing module with the real config, database and messaging plumbing and one system module,
 * against the real MariaDB. There is no broker: the producer refuses every publish, so the relay never
 * drains the outbox rows the tests assert on (it retries quietly in the background).
 */
export async function startSystemHarness(feature: Type): Promise<SystemHarness> {
  process.env.NODE_ENV = 'test';
  process.env.DATABASE_URL ??= 'mariadb://root@127.0.0.1:3306/order_flow_system_test';
  process.env.KAFKA_BROKERS = '127.0.0.1:1';
  process.env.KAFKA_CREATE_TOPICS = 'false';
  delete process.env.SIM_PROFILE;
  Logger.overrideLogger(['error']);

  const { validateEnv } = await import('../../../src/config/env.schema.js');
  const { appConfig } = await import('../../../src/config/app.config.js');
  const { databaseConfig } = await import('../../../src/config/database.config.js');
  const { kafkaConfig } = await import('../../../src/config/kafka.config.js');
  const { outboxConfig } = await import('../../../src/config/outbox.config.js');
  const { simulationConfig } = await import('../../../src/config/simulation.config.js');
  const { DatabaseModule } = await import('../../../src/platform/database/database.module.js');
  const { MessagingModule } = await import('../../../src/platform/messaging/messaging.module.js');
  const { KafkaProducerService } = await import('../../../src/platform/messaging/kafka-producer.service.js');

  const moduleRef = await Test.createTestingModule({
    imports: [
      ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, validate: validateEnv, load: [appConfig, databaseConfig, kafkaConfig, outboxConfig, simulationConfig] }),
      DatabaseModule,
      MessagingModule,
      feature,
    ],
  })
    // No broker: every publish fails at once, so the relay leaves the staged rows for the assertions.
    .overrideProvider(KafkaProducerService)
    .useValue({
      sendBatch: () => Promise.reject(new Error('no Kafka in system e2e tests')),
      send: () => Promise.reject(new Error('no Kafka in system e2e tests')),
      onModuleDestroy: () => undefined,
    })
    .compile();
  await moduleRef.init();
  const dataSource = moduleRef.get(DataSource);

  return {
    moduleRef,
    dataSource,
    inTx: (work) => dataSource.transaction(work),
    async elsewhere(work, lockWaitS = 1) {
      const runner = dataSource.createQueryRunner();
      try {
        await runner.query('SET SESSION innodb_lock_wait_timeout = ?', [lockWaitS]);
        await runner.startTransaction();
        try {
          const result = await work(runner.manager);
          await runner.commitTransaction();
          return result;
        } catch (err) {
          await runner.rollbackTransaction();
          throw err;
        }
      } finally {
        // The connection goes back to the pool: without the server's own patience for the next user.
        await runner.query('SET SESSION innodb_lock_wait_timeout = DEFAULT').catch(() => undefined);
        await runner.release();
      }
    },
    async staged(orderId) {
      const rows: Array<{ topic: string; event_type: string; payload: string; available_at: Date }> = await dataSource.query(
        'SELECT topic, event_type, payload, available_at FROM outbox WHERE message_key = ? ORDER BY id',
        [orderId],
      );
      return rows.map((r) => ({ topic: r.topic, eventType: r.event_type, envelope: JSON.parse(r.payload), availableAt: new Date(r.available_at) }));
    },
    async product(stock, unitPrice, currency = 'EUR') {
      const id = `SYS-${randomUUID().slice(0, 13)}`;
      await dataSource.query('INSERT INTO products (product_id, name, unit_price, currency, stock_on_hand, stock_reserved) VALUES (?, ?, ?, ?, ?, 0)', [
        id,
        `Test ${id}`,
        unitPrice,
        currency,
        stock,
      ]);
      return id;
    },
    async stock(productId) {
      const [row] = await dataSource.query('SELECT stock_on_hand, stock_reserved FROM products WHERE product_id = ?', [productId]);
      return { onHand: Number(row.stock_on_hand), reserved: Number(row.stock_reserved) };
    },
    close: () => moduleRef.close(),
  };
}

/** Asserts a message was staged to leave `delayMs` after `startedAt` (within the handler's own duration). */
export function expectDelay(message: StagedMessage, startedAt: number, finishedAt: number, delayMs: number): void {
  const at = message.availableAt.getTime();
  expect(at).toBeGreaterThanOrEqual(startedAt + delayMs - 1);
  expect(at).toBeLessThanOrEqual(finishedAt + delayMs + 1);
}
