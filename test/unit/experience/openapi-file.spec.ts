import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { load } from 'js-yaml';

describe('openapi/openapi.yaml', () => {
  const saved = { ...process.env };
  beforeAll(() => {
    for (const key of Object.keys(process.env)) if (key.startsWith('AUTH_')) delete process.env[key];
  });
  afterAll(() => {
    process.env = saved;
  });

  it('is what the code generates now (run `npm run openapi` after changing the API)', async () => {
    const { renderOpenApiYaml, OPENAPI_FILE } = await import('../../../src/platform/http/openapi-file.js');
    const generated = await renderOpenApiYaml();
    expect(readFileSync(OPENAPI_FILE, 'utf8')).toBe(generated);
  });

  it('documents every route with examples for its request and responses', async () => {
    const doc = load(readFileSync('openapi/openapi.yaml', 'utf8')) as any;
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/api/admin/dead-letters',
      '/api/admin/dead-letters/replay',
      '/api/admin/outbox/parked',
      '/api/admin/outbox/parked/{id}/release',
      '/api/admin/saga/stuck-steps',
      '/api/admin/saga/stuck-steps/{orderId}/{step}/retry',
      '/api/inventory/products',
      '/api/orders',
      '/api/orders/{orderId}',
      '/api/orders/{orderId}/status',
      '/health/live',
      '/health/ready',
    ]);
    const post = doc.paths['/api/orders'].post;
    expect(Object.keys(post.responses)).toEqual(expect.arrayContaining(['202', '400', '409', '413', '415', '503']));
    expect(doc.components.schemas.CreateOrderRequestDto.properties.items).toBeDefined();
    expect(doc.components.schemas.OrderItemDto.properties.quantity.example).toBe(2);
    expect(doc.components.securitySchemes).toBeDefined();
    const replay = doc.paths['/api/admin/dead-letters/replay'].post;
    expect(Object.keys(replay.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '404', '503']));
    expect(replay.security).toContainEqual({ 'oauth2-client-credentials': ['orders.admin'] });
    const release = doc.paths['/api/admin/outbox/parked/{id}/release'].post;
    expect(Object.keys(release.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '404', '503']));
    expect(release.security).toContainEqual({ 'oauth2-client-credentials': ['orders.admin'] });
  });
});
