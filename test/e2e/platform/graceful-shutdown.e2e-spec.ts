import { jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import request from 'supertest';
import { issueTestToken, startOidcProvider } from '../../../scripts/oidc-provider.mjs';
import { ConsumerRegistryService } from '../../../src/platform/messaging/consumer-registry.service.js';
import { InboxPrunerService } from '../../../src/platform/messaging/inbox-pruner.service.js';
import { KafkaProducerService } from '../../../src/platform/messaging/kafka-producer.service.js';
import { KAFKA } from '../../../src/platform/messaging/messaging.tokens.js';
import { OutboxRelayService } from '../../../src/platform/messaging/outbox-relay.service.js';
import { deadLetteredMessages, inboxDuplicates } from '../../../src/platform/observability/metrics.counters.js';
import { SagaStepScheduler } from '../../../src/process/orders/saga-step.scheduler.js';
import { DeliveryScheduler } from '../../../src/system/shipping/delivery.scheduler.js';
import { eventually } from '../../support/eventually.js';
import { freePort } from '../../support/free-port.js';
import { createProduct, placeOrder, TERMINAL, waitForGroupsCaughtUp, waitForStatus } from '../../support/saga-fixtures.js';
import { startTestApp, validOrderBody, type TestApp } from '../../support/test-app.js';
import { GROUP_TOPICS } from '../../support/topics.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');

/** Every step takes a little while, so orders are in every stage when the first process stops. */
const ENV: Record<string, string> = {
  INVENTORY_LATENCY_MIN_MS: '100',
  INVENTORY_LATENCY_MAX_MS: '500',
  PAYMENT_LATENCY_MIN_MS: '100',
  PAYMENT_LATENCY_MAX_MS: '500',
  SHIPPING_LATENCY_MIN_MS: '100',
  SHIPPING_LATENCY_MAX_MS: '500',
  // Redeliveries are the point here, not deadlines: no step is resent while no process runs.
  SAGA_INVENTORY_TIMEOUT_MS: '60000',
  SAGA_PAYMENT_TIMEOUT_MS: '60000',
  SAGA_SHIPPING_TIMEOUT_MS: '60000',
};

const total = async (counter: typeof inboxDuplicates | typeof deadLetteredMessages) => (await counter.get()).values.reduce((sum, v) => sum + v.value, 0);

/**
 * Graceful shutdown: intake stops, the batches in hand finish and their offsets are committed before
 * the consumers leave their groups, then the relay, the schedulers and the pruner stop, and the
 * producer closes last. A second process on the same groups then finishes every order, and nothing
 * is delivered twice: the inbox sees no duplicate.
 */
describe('graceful shutdown (real Kafka and MariaDB)', () => {
  const saved = Object.fromEntries(Object.keys(ENV).map((k) => [k, process.env[k]]));
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('closes mid-flow in order, within 30 s; a second process finishes every order with zero redeliveries', async () => {
    const a: TestApp = await startTestApp({ env: ENV });
    let b: TestApp | null = null;
    try {
      const productId = await createProduct(a, 10000);
      // Whatever earlier suites left in flight is delivered before this test counts.
      await waitForGroupsCaughtUp();
      inboxDuplicates.reset();
      const deadLettersBefore = await total(deadLetteredMessages);

      const orderIds: string[] = [];
      for (let i = 0; i < 6; i++) orderIds.push(...(await Promise.all(Array.from({ length: 10 }, () => placeOrder(a, [{ productId, quantity: 1 }])))));
      const count = async (statuses: readonly string[]) =>
        Number(
          (
            await a.dataSource.query(`SELECT COUNT(*) AS n FROM orders WHERE status IN (${statuses.map(() => '?').join(',')}) AND id IN (${orderIds.map(() => '?').join(',')})`, [
              ...statuses,
              ...orderIds,
            ])
          )[0].n,
        );
      await eventually(
        () => count(['SHIPPED']),
        (n) => n >= 5,
        { what: 'the first orders to ship' },
      );

      // What the shutdown does, in the order it does it (the real methods, only recorded).
      const steps: string[] = [];
      const record = <T extends object>(name: string, target: T, method: keyof T & string) => {
        const real = (target[method] as (...args: unknown[]) => unknown).bind(target);
        jest.spyOn(target, method as never).mockImplementation((async (...args: unknown[]) => {
          steps.push(`${name}:start`);
          await real(...args);
          steps.push(`${name}:end`);
        }) as never);
      };
      record('consumers', a.app.get(ConsumerRegistryService), 'beforeApplicationShutdown');
      record('relay', a.app.get(OutboxRelayService), 'onApplicationShutdown');
      record('saga-scheduler', a.app.get(SagaStepScheduler), 'onApplicationShutdown');
      record('delivery-scheduler', a.app.get(DeliveryScheduler), 'onApplicationShutdown');
      record('inbox-pruner', a.app.get(InboxPrunerService), 'onApplicationShutdown');
      record('producer', a.app.get(KafkaProducerService), 'onApplicationShutdown');
      const kafka = a.app.get<Kafka>(KAFKA);
      const newProducer = kafka.producer.bind(kafka);
      jest.spyOn(kafka, 'producer').mockImplementation((config) => {
        steps.push('producer:opened');
        return newProducer(config);
      });

      const terminalAtClose = await count(TERMINAL);
      const started = Date.now();
      const closing = a.app.close();
      // Intake stops first: a request arriving now is refused (503), or finds the port closed.
      const late = await request(a.url)
        .post('/api/orders')
        .set({ Authorization: `Bearer ${a.token}` })
        .send(validOrderBody())
        .then((r) => r.status)
        .catch((err: Error) => err.message);
      await closing;
      const closedInMs = Date.now() - started;
      console.log(`closed in ${closedInMs} ms with ${orderIds.length - terminalAtClose} of ${orderIds.length} orders in flight`);

      expect(terminalAtClose).toBeLessThan(orderIds.length);
      expect(closedInMs).toBeLessThan(30000);
      expect(late === 503 || /ECONNREFUSED|socket hang up|ECONNRESET/.test(String(late))).toBe(true);
      // Consumers are drained (and have left their groups) before anything else stops; the relay
      // and the schedulers stop before the producer closes, and no producer is opened after that.
      expect(steps.filter((s) => s.endsWith(':start') || s === 'producer:opened').slice(0, 1)).toEqual(['consumers:start']);
      const at = (s: string) => steps.indexOf(s);
      for (const later of ['relay:start', 'saga-scheduler:start', 'delivery-scheduler:start', 'inbox-pruner:start']) expect(at(later)).toBeGreaterThan(at('consumers:end'));
      for (const before of ['relay:end', 'saga-scheduler:end', 'delivery-scheduler:end', 'inbox-pruner:end']) expect(at(before)).toBeLessThan(at('producer:start'));
      expect(steps.slice(at('producer:start'))).not.toContain('producer:opened');
      await a.op.close();

      // A new process on the same groups picks up where the first one committed.
      b = await startTestApp({ env: ENV });
      for (const orderId of orderIds) expect(await waitForStatus(b, orderId, TERMINAL, 60000)).toMatchObject({ status: 'SHIPPED' });
      await waitForGroupsCaughtUp();
      expect((await inboxDuplicates.get()).values.filter((v) => v.value > 0)).toEqual([]);
      expect(await total(deadLetteredMessages)).toBe(deadLettersBefore);
    } finally {
      jest.restoreAllMocks();
      await b?.close();
    }
  }, 180000);

  it('the service process exits within 30 s of SIGTERM, by its graceful path, having left its consumer groups', async () => {
    const op = await startOidcProvider({ port: 0 });
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'main.js')], {
      cwd: ROOT,
      env: { ...process.env, ...ENV, PORT: String(port), HOST: '127.0.0.1', AUTH_ISSUER_URL: op.issuer, AUTH_AUDIENCE: op.audience, LOG_LEVEL: 'info', LOG_PRETTY: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    // 'close', not 'exit': the process may be gone before the last of its output has been read.
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
    try {
      await eventually(
        async () => (await request(url).get('/health/ready')).body?.details?.consumers?.groups,
        (groups) => !!groups && Object.keys(GROUP_TOPICS).every((g) => groups[g]?.state === 'connected'),
        { timeoutMs: 60000, intervalMs: 250, what: 'the process to run every consumer group' },
      );
      const token = await issueTestToken({ issuer: op.issuer });
      const accepted = await Promise.all(
        Array.from({ length: 20 }, () =>
          request(url)
            .post('/api/orders')
            .set({ Authorization: `Bearer ${token}` })
            .send(validOrderBody())
            .then((r) => r.status),
        ),
      );
      expect(accepted.every((s) => s === 202)).toBe(true);

      const started = Date.now();
      child.kill('SIGTERM');
      const { code, signal } = await exited;
      const exitedInMs = Date.now() - started;
      console.log(`exited ${exitedInMs} ms after SIGTERM (code ${code}, signal ${signal})`);
      expect(exitedInMs).toBeLessThan(30000);
      // Nest ends a graceful shutdown by raising the signal again; the backstop timer would exit with 1.
      expect(signal === 'SIGTERM' || code === 0).toBe(true);
      for (const group of Object.keys(GROUP_TOPICS)) expect(output).toContain(`consumer group ${group} stopped`);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await op.close();
    }
  }, 120000);
});
