import 'reflect-metadata';
import { Kafka, logLevel } from 'kafkajs';
import { DeadLettersService } from '../../../src/experience/dead-letters/dead-letters.service.js';
import { freePort } from '../../support/free-port.js';

describe('DeadLettersService when Kafka cannot be reached', () => {
  let service: DeadLettersService;

  beforeAll(async () => {
    const kafka = new Kafka({ clientId: 'test', brokers: [`127.0.0.1:${await freePort()}`], connectionTimeout: 200, retry: { retries: 0 }, logLevel: logLevel.NOTHING });
    const cfg = { topics: { dlq: 'dlq-orders' }, groupPrefix: 'order-flow' } as ConstructorParameters<typeof DeadLettersService>[1];
    service = new DeadLettersService(kafka, cfg);
  });

  it('answers a listing with 503 and the reason, not a 500', async () => {
    await expect(service.list({})).rejects.toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE', message: expect.stringMatching(/^could not read dlq-orders: Connection error: connect ECONNREFUSED 127\.0\.0\.1:\d+$/) });
  });

  it('answers a replay with 503 before publishing anything, and serves the next call after a failure', async () => {
    await expect(service.replay({ ids: ['0@1'] }, 'test-operator')).rejects.toMatchObject({ status: 503, message: expect.stringContaining('could not read dlq-orders') });
    await expect(service.list({})).rejects.toMatchObject({ status: 503 });
  });
});
