import type { NestExpressApplication } from '@nestjs/platform-express';
import { startOidcProvider, type OidcProviderOptions, type RunningOidcProvider } from '../../../scripts/oidc-provider.mjs';

export interface SecurityHarness {
  app: NestExpressApplication;
  /** The service's base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  op: RunningOidcProvider;
  close(): Promise<void>;
}

/**
 * A real local OpenID provider on a free port and the real app (experience + system layers, no
 * Kafka consumers) pointed at it. `env` is applied before the app reads its configuration.
 */
export async function startSecurityHarness(env: Record<string, string> = {}, opOptions: OidcProviderOptions = {}): Promise<SecurityHarness> {
  const op = await startOidcProvider({ port: 0, corsOrigins: (origin) => /^http:\/\/127\.0\.0\.1:\d+$/.test(origin), ...opOptions });
  Object.assign(process.env, { KAFKA_BROKERS: '127.0.0.1:1', LOG_LEVEL: 'silent', AUTH_ISSUER_URL: op.issuer, AUTH_AUDIENCE: op.audience, ...env });
  const { createApp } = await import('../../../src/bootstrap.js');
  const app = await createApp({ layers: ['experience', 'system'], groups: [] });
  await app.listen(0, '127.0.0.1');
  const url = await app.getUrl();
  return {
    app,
    url: url.replace('[::1]', '127.0.0.1'),
    op,
    close: async () => {
      await app.close();
      await op.close();
    },
  };
}

export function validOrder(): Record<string, unknown> {
  return {
    customer: { name: 'Ada Lovelace', email: 'ada@example.com' },
    shippingAddress: { line1: '12 St James Square', city: 'London', postalCode: 'SW1Y 4JH', country: 'GB' },
    items: [{ productId: 'SKU-1001', quantity: 1 }],
  };
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
