import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { KafkaJSConnectionError, type Kafka, type TopicMessages } from 'kafkajs';
import { KafkaProducerService, PublishTimeoutError } from '../../../src/platform/messaging/kafka-producer.service.js';

/** A promise settled by hand. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A KafkaJS producer whose connect and sends the test answers (or never answers). */
class FakeProducer {
  connected = deferred();
  sends: Array<ReturnType<typeof deferred<void>>> = [];
  disconnects = 0;

  readonly api = {
    connect: () => this.connected.promise,
    sendBatch: () => {
      const send = deferred();
      this.sends.push(send);
      return send.promise;
    },
    // KafkaJS waits for the requests in flight before it closes the connection.
    disconnect: async () => {
      this.disconnects += 1;
      await Promise.allSettled(this.sends.map((s) => s.promise));
    },
  };
}

const batch: TopicMessages[] = [{ topic: 't', messages: [{ key: 'k', value: 'v' }] }];
const settle = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

describe('KafkaProducerService: sends with a timeout', () => {
  let made: FakeProducer[];
  let service: KafkaProducerService;

  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    made = [];
    const kafka = {
      producer: () => {
        const p = new FakeProducer();
        made.push(p);
        return p.api;
      },
    } as unknown as Kafka;
    service = new KafkaProducerService(kafka);
  });
  afterEach(() => jest.useRealTimers());

  it('gives up on a send the broker does not answer in time, drops that producer, and the next send starts a fresh one', async () => {
    const hung = service.sendBatch(batch, { timeoutMs: 5000 });
    const outcome = hung.then(
      () => 'sent',
      (e: Error) => e,
    );
    made[0].connected.resolve();
    await settle();
    expect(made[0].sends).toHaveLength(1);

    await jest.advanceTimersByTimeAsync(4999);
    await settle();
    let settled = false;
    void outcome.then(() => (settled = true));
    await settle();
    expect(settled).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    const error = await outcome;
    expect(error).toBeInstanceOf(PublishTimeoutError);
    expect((error as Error).message).toMatch(/within 5000 ms/);
    expect(made[0].disconnects).toBe(1);

    const next = service.sendBatch(batch, { timeoutMs: 5000 });
    await settle();
    expect(made).toHaveLength(2);
    made[1].connected.resolve();
    await settle();
    made[1].sends[0].resolve();
    await expect(next).resolves.toBeUndefined();

    // The abandoned send fails at last: the producer in use stays.
    made[0].sends[0].reject(new KafkaJSConnectionError('Request timed out'));
    await settle();
    expect(made[1].disconnects).toBe(0);
    const third = service.sendBatch(batch);
    await settle();
    made[1].sends[1].resolve();
    await expect(third).resolves.toBeUndefined();
    expect(made).toHaveLength(2);
  });

  it('gives up on a connect that hangs past the timeout; when it connects at last, that producer is closed, never used', async () => {
    const hung = service.sendBatch(batch, { timeoutMs: 1000 });
    const failed = expect(hung).rejects.toBeInstanceOf(PublishTimeoutError);
    await jest.advanceTimersByTimeAsync(1000);
    await failed;

    const next = service.sendBatch(batch);
    await settle();
    expect(made).toHaveLength(2);
    made[0].connected.resolve();
    await settle();
    expect(made[0].disconnects).toBe(1);
    made[1].connected.resolve();
    await settle();
    made[1].sends[0].resolve();
    await expect(next).resolves.toBeUndefined();
    expect(made[0].sends).toEqual([]);
  });

  it('without a timeout waits as long as KafkaJS does; a failed send drops the producer', async () => {
    const send = service.sendBatch(batch);
    made[0].connected.resolve();
    await jest.advanceTimersByTimeAsync(60_000);
    made[0].sends[0].reject(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED'));
    await expect(send).rejects.toThrow(/ECONNREFUSED/);
    expect(made[0].disconnects).toBe(1);
    const again = service.sendBatch(batch);
    await settle();
    expect(made).toHaveLength(2);
    made[1].connected.resolve();
    await settle();
    made[1].sends[0].resolve();
    await expect(again).resolves.toBeUndefined();
  });
});
