import { jest } from '@jest/globals';
import kafkajs from 'kafkajs';
import { ConsumerRegistryService } from '../../../src/platform/messaging/consumer-registry.service.js';
import { MessageProcessorService, type MessageBatch } from '../../../src/platform/messaging/message-processor.service.js';
import { consumerRestarts } from '../../../src/platform/observability/metrics.counters.js';
import { PaymentService } from '../../../src/system/payment/payment.service.js';
import { eventually } from '../../support/eventually.js';
import { createProduct, placeOrder, TERMINAL, waitForStatus } from '../../support/saga-fixtures.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';

const PAYMENT_GROUP = 'order-flow-payment';

const restartsOf = async (group: string) => (await consumerRestarts.get()).values.find((v) => v.labels.consumer_group === group)?.value ?? 0;

/**
 * No error stops a consumer group for good: kafkajs gives up on a consumer for a TypeError from a
 * handler or for an error of its own it will not retry; the group then runs again, and its messages
 * are processed.
 */
describe('consumer groups keep running whatever a handler or kafkajs throws (real Kafka and MariaDB)', () => {
  let t: TestApp;
  let productId: string;

  beforeAll(async () => {
    t = await startTestApp();
    productId = await createProduct(t, 100);
  }, 60000);
  afterAll(async () => {
    jest.restoreAllMocks();
    await t?.close();
  });

  const paymentGroup = () => t.app.get(ConsumerRegistryService).snapshot()[PAYMENT_GROUP];

  it('a TypeError thrown by a handler is retried like any failure: the order completes, the group never stopped', async () => {
    const payments = t.app.get(PaymentService);
    const handleMany = payments.handleMany.bind(payments);
    let thrown = 0;
    // The batch and then the same message alone fail: the processor hands the error to kafkajs.
    jest.spyOn(payments, 'handleMany').mockImplementation(async (...args) => {
      if (thrown < 2) {
        thrown += 1;
        throw new TypeError("Cannot read properties of undefined (reading 'amount')");
      }
      return handleMany(...args);
    });
    const restartsBefore = await restartsOf(PAYMENT_GROUP);

    const orderId = await placeOrder(t, [{ productId, quantity: 1 }]);
    expect(await waitForStatus(t, orderId, TERMINAL, 30000)).toMatchObject({ status: 'SHIPPED' });
    expect(thrown).toBe(2);
    expect(paymentGroup()).toMatchObject({ state: 'connected' });
    expect(await restartsOf(PAYMENT_GROUP)).toBe(restartsBefore);
    jest.restoreAllMocks();
  });

  it('a consumer kafkajs stops for good (an error it will not retry) is started again: connected, and its messages processed', async () => {
    const processor = t.app.get(MessageProcessorService);
    const processBatch = processor.processBatch.bind(processor);
    let thrown = 0;
    jest.spyOn(processor, 'processBatch').mockImplementation(async (batch: MessageBatch) => {
      if (batch.topic === 'payment-requests' && thrown === 0) {
        thrown += 1;
        throw new kafkajs.KafkaJSNonRetriableError('injected: a fault kafkajs does not retry');
      }
      return processBatch(batch);
    });
    const restartsBefore = await restartsOf(PAYMENT_GROUP);

    const orderId = await placeOrder(t, [{ productId, quantity: 1 }]);
    const down = await eventually(paymentGroup, (g) => g?.lastError?.includes('injected') === true, { what: 'the payment consumer to stop' });
    expect(down.lastError).toContain('KafkaJSNonRetriableError');
    await eventually(paymentGroup, (g) => g?.state === 'connected' && g.restarts > 0, { timeoutMs: 30000, what: 'the payment group connected again' });
    expect(await restartsOf(PAYMENT_GROUP)).toBe(restartsBefore + 1);
    expect(await waitForStatus(t, orderId, TERMINAL, 45000)).toMatchObject({ status: 'SHIPPED' });
    await t.get('/health/live').expect(200);
    jest.restoreAllMocks();
  }, 90000);
});
