import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { load } from 'js-yaml';
import { problem, ProblemCode } from '../../../src/platform/http/problem.js';

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];
const operationsOf = (doc: any): Array<[string, any]> =>
  Object.entries(doc.paths).flatMap(([path, item]: [string, any]) => METHODS.filter((m) => item[m]).map((m): [string, any] => [`${m.toUpperCase()} ${path}`, item[m]]));
const responsesOf = (doc: any): Array<[string, string, any]> =>
  operationsOf(doc).flatMap(([op, operation]) => Object.entries(operation.responses).map(([status, response]): [string, string, any] => [op, status, response]));

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
      '/api/orders/{orderId}/cancel',
      '/api/orders/{orderId}/events',
      '/api/orders/{orderId}/status',
      '/health/live',
      '/health/ready',
    ]);
    const post = doc.paths['/api/orders'].post;
    expect(Object.keys(post.responses)).toEqual(expect.arrayContaining(['202', '400', '409', '413', '415', '503']));
    expect(doc.components.schemas.CreateOrderRequestDto.properties.items).toBeDefined();
    expect(doc.components.schemas.OrderItemDto.properties.quantity.example).toBe(2);
    expect(doc.components.securitySchemes).toBeDefined();
    const cancel = doc.paths['/api/orders/{orderId}/cancel'].post;
    expect(Object.keys(cancel.responses)).toEqual(expect.arrayContaining(['202', '400', '401', '403', '404', '409', '503']));
    expect(cancel.responses['409'].description).toMatch(/ORDER_NOT_CANCELLABLE/);
    expect(cancel.security).toContainEqual({ 'oauth2-client-credentials': ['orders.write'] });
    const replay = doc.paths['/api/admin/dead-letters/replay'].post;
    expect(Object.keys(replay.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '404', '503']));
    expect(replay.security).toContainEqual({ 'oauth2-client-credentials': ['orders.admin'] });
    const release = doc.paths['/api/admin/outbox/parked/{id}/release'].post;
    expect(Object.keys(release.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '404', '503']));
    expect(release.security).toContainEqual({ 'oauth2-client-credentials': ['orders.admin'] });
    const events = doc.paths['/api/orders/{orderId}/events'].get;
    expect(Object.keys(events.responses['200'].content)).toEqual(['text/event-stream']);
    expect(events.responses['503'].headers['Retry-After']).toBeDefined();
    expect(events.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['orderId', 'Last-Event-ID']));
  });

  describe('errors, headers and types (what the code really answers)', () => {
    const doc = load(readFileSync('openapi/openapi.yaml', 'utf8')) as any;
    const secured = operationsOf(doc).filter(([, operation]) => operation.security.length > 0);

    it('declares application/problem+json with the Problem schema for every 4xx and 5xx, but the probes’ 503 (their terminus report)', () => {
      const errors = responsesOf(doc).filter(([, status]) => Number(status) >= 400);
      expect(errors.length).toBeGreaterThan(70);
      const notProblem = errors.filter(([, , response]) => response.content?.['application/problem+json']?.schema?.$ref !== '#/components/schemas/Problem');
      expect(notProblem.map(([op, status]) => `${op} ${status}`)).toEqual(['GET /health/live 503', 'GET /health/ready 503']);
      for (const [, , response] of notProblem) expect(Object.keys(response.content)).toEqual(['application/json']);
      for (const [, , response] of errors.filter((e) => !notProblem.includes(e))) expect(Object.keys(response.content)).toEqual(['application/problem+json']);
    });

    it('has a Problem schema that describes what problem() writes, with every code', () => {
      const schema = doc.components.schemas.Problem;
      expect(schema.properties.code.enum).toEqual(Object.values(ProblemCode));
      expect(schema.properties.status.type).toBe('integer');
      const written = { ...problem(ProblemCode.VALIDATION_FAILED, 'x', { errors: [{ field: 'f', message: 'm' }] }), instance: '/api/orders', correlationId: 'c' };
      expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(written).sort());
      expect(schema.required.sort()).toEqual(Object.keys(problem(ProblemCode.INTERNAL_ERROR)).sort());
      expect(doc.components.schemas.FieldViolation.required).toEqual(['field', 'message']);
    });

    it('lists what the global guards, middleware and filter answer on every route', () => {
      for (const [op, operation] of operationsOf(doc)) {
        const statuses = Object.keys(operation.responses);
        expect({ op, statuses }).toEqual({ op, statuses: expect.arrayContaining(['429', '500']) });
        if (op.startsWith('POST')) expect({ op, statuses }).toEqual({ op, statuses: expect.arrayContaining(['400', '413', '415']) });
      }
      expect(secured.length).toBe(13);
      for (const [op, operation] of operationsOf(doc)) {
        const described = Object.values(operation.responses).map((r: any) => r.description as string);
        expect({ op, issuerTwice: described.filter((d) => d.split('token issuer').length > 2) }).toEqual({ op, issuerTwice: [] });
        if (op.startsWith('GET')) expect({ op, body: described.filter((d) => /the body is not/.test(d)) }).toEqual({ op, body: [] });
      }
      for (const [op, operation] of secured) {
        const statuses = Object.keys(operation.responses);
        expect({ op, statuses }).toEqual({ op, statuses: expect.arrayContaining(['401', '403', '503']) });
      }
    });

    it('documents X-Correlation-Id on every response, WWW-Authenticate on 401/403, Retry-After on 429 and a secured 503, RateLimit-* once counted', () => {
      const header = (response: any, name: string) => response.headers?.[name];
      for (const [op, status, response] of responsesOf(doc)) {
        const at = `${op} ${status}`;
        expect({ at, correlation: header(response, 'X-Correlation-Id') }).toEqual({ at, correlation: { $ref: '#/components/headers/CorrelationId' } });
        if (status === '401' || status === '403') expect({ at, challenge: header(response, 'WWW-Authenticate') }).toEqual({ at, challenge: { $ref: '#/components/headers/WwwAuthenticate' } });
        if (status === '429') expect({ at, retry: header(response, 'Retry-After')?.required }).toEqual({ at, retry: true });
        if (/^2|^429$/.test(status)) {
          for (const name of ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset']) expect({ at, name, has: Boolean(header(response, name)) }).toEqual({ at, name, has: true });
        }
      }
      for (const [op, operation] of secured) expect({ op, retry: Boolean(operation.responses['503'].headers['Retry-After']) }).toEqual({ op, retry: true });
      expect(doc.components.headers.WwwAuthenticate.required).toBe(true);
      expect(doc.paths['/api/orders'].post.responses['202'].headers.Location).toMatchObject({ required: true, schema: { type: 'string' } });
    });

    it('types quantity as an integer, names a relative server and leaves the probes without security', () => {
      expect(doc.components.schemas.OrderItemDto.properties.quantity).toMatchObject({ type: 'integer', minimum: 1, maximum: 1000 });
      expect(doc.components.schemas.OrderItemResponseDto.properties.quantity.type).toBe('integer');
      expect(doc.servers).toEqual([{ url: '/', description: expect.any(String) }]);
      expect(doc.paths['/health/live'].get.security).toEqual([]);
      expect(doc.paths['/health/ready'].get.security).toEqual([]);
    });
  });
});
