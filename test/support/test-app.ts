import type { NestExpressApplication } from '@nestjs/platform-express';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import { issueTestToken, startOidcProvider, type RunningOidcProvider } from '../../scripts/oidc-provider.mjs';
import type { AppLayer } from '../../src/config/app.config.js';
import type { ConsumerGroupName } from '../../src/platform/messaging/consumer-groups.js';

export interface TestApp {
  app: NestExpressApplication;
  url: string;
  dataSource: DataSource;
  op: RunningOidcProvider;
  /** An access token with every API scope, from the local OpenID provider. */
  token: string;
  get(path: string): request.Test;
  post(path: string, body: unknown, headers?: Record<string, string>): request.Test;
  close(): Promise<void>;
}

/**
 * The real application in this process, on a random port, against the real database and broker
 * that scripts/test.mjs set up (DATABASE_URL, KAFKA_BROKERS), with a real local OpenID provider
 * issuing its tokens. `env` overrides settings for one suite (before the app reads them).
 */
export async function startTestApp(options: { layers?: AppLayer[]; groups?: ConsumerGroupName[]; env?: Record<string, string> } = {}): Promise<TestApp> {
  const op = await startOidcProvider({ port: 0 });
  Object.assign(process.env, { AUTH_ISSUER_URL: op.issuer, AUTH_AUDIENCE: op.audience, RATE_LIMIT_PER_MINUTE: '100000' }, options.env ?? {});
  const { createApp, startConsumers } = await import('../../src/bootstrap.js');
  const { TopicAdminService } = await import('../../src/platform/messaging/topic-admin.service.js');
  const { DataSource } = await import('typeorm');
  const app = await createApp({ layers: options.layers, groups: options.groups, bufferLogs: true });
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  await app.get(TopicAdminService).whenTopicsReady();
  await startConsumers(app);
  const token = await issueTestToken({ issuer: op.issuer });
  const auth = { Authorization: `Bearer ${token}` };
  return {
    app,
    url,
    op,
    token,
    dataSource: app.get(DataSource),
    get: (path) => request(url).get(path).set(auth),
    post: (path, body, headers = {}) =>
      request(url)
        .post(path)
        .set({ ...auth, ...headers })
        .send(body as object),
    close: async () => {
      await app.close();
      await op.close();
    },
  };
}

export function validOrderBody(overrides: Record<string, unknown> = {}): Record<string, any> {
  return {
    customer: { id: 'cust-e2e', name: 'Ada Lovelace', email: 'ada@example.com', phone: '+44 20 7946 0000' },
    shippingAddress: { line1: '12 St James Square', city: 'London', postalCode: 'SW1Y 4JH', country: 'GB' },
    items: [
      { productId: 'SKU-1001', quantity: 2 },
      { productId: 'SKU-1002', quantity: 1 },
    ],
    currency: 'EUR',
    ...overrides,
  };
}
