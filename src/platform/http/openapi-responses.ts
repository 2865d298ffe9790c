import type { HeaderObject, OpenAPIObject, OperationObject, ReferenceObject, ResponseObject, SchemaObject } from '@nestjs/swagger';
import { PROBLEM_CONTENT_TYPE, ProblemCode } from './problem.js';

/**
 * What every operation can answer besides what its controller declares, written once here from the
 * code paths that answer it, so no route can forget one:
 * - every route: 429 and the RateLimit-* headers (ClientRateLimitGuard, global: per client, or per IP
 *   on a public route), 500 (ProblemFilter), `X-Correlation-Id` (CorrelationMiddleware, ProblemFilter);
 * - a route that needs a token: 401, 403 (AccessTokenGuard, with `WWW-Authenticate`) and 503 when the
 *   issuer's keys cannot be fetched (with `Retry-After`);
 * - every POST: 400 (unreadable JSON, forbidden keys), 413 (body limit), 415 (JsonOnlyMiddleware).
 * Every 4xx and 5xx is `application/problem+json` with the Problem schema (ProblemFilter), except an
 * answer a controller documents with a schema of its own (the probes' 503 is terminus's report).
 */
export function describeResponses(document: OpenAPIObject): OpenAPIObject {
  const components = (document.components ??= {});
  components.schemas = { ...components.schemas, FieldViolation: FIELD_VIOLATION_SCHEMA, Problem: PROBLEM_SCHEMA };
  components.headers = { ...components.headers, ...HEADERS };
  for (const path of Object.values(document.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const operation = path[method];
      if (operation) describeOperation(operation, method);
    }
  }
  return document;
}

const ref = (name: string): ReferenceObject => ({ $ref: `#/components/headers/${name}` });
const PROBLEM_REF = '#/components/schemas/Problem';

const HEADERS: Record<string, HeaderObject> = {
  CorrelationId: {
    description: 'The caller’s `X-Correlation-Id` when it is 1-200 of `A-Z a-z 0-9 . _ : -`, else a new one; in every log line and Kafka message of the request',
    required: true,
    schema: { type: 'string', example: 'req-7f3a' },
  },
  RateLimitLimit: { description: 'Requests allowed per minute (RATE_LIMIT_PER_MINUTE), per client or, on a public route, per IP', schema: { type: 'integer', example: 6000 } },
  RateLimitRemaining: { description: 'Requests left in the current window', schema: { type: 'integer', example: 5999 } },
  RateLimitReset: { description: 'Seconds until the window starts over', schema: { type: 'integer', example: 42 } },
  WwwAuthenticate: {
    description: 'RFC 6750 Bearer challenge (`error="invalid_token"`, or `error="insufficient_scope"` with the `scope` needed)',
    required: true,
    schema: { type: 'string', example: 'Bearer realm="order-flow", error="invalid_token", error_description="The access token expired"' },
  },
};

const RETRY_AFTER: HeaderObject = { description: 'Seconds to wait before trying again', schema: { type: 'integer', example: 42 } };

const FIELD_VIOLATION_SCHEMA: SchemaObject = {
  type: 'object',
  properties: {
    field: { type: 'string', example: 'items[0].quantity' },
    message: { type: 'string', example: 'quantity must not be greater than 1000' },
  },
  required: ['field', 'message'],
};

/** RFC 9457 problem details as ProblemFilter writes them (problem.ts). */
const PROBLEM_SCHEMA: SchemaObject = {
  type: 'object',
  description: 'RFC 9457 problem details, with a stable `code`',
  properties: {
    type: { type: 'string', format: 'uri', description: 'Names the kind of problem', example: 'https://order-flow.dev/problems/validation-failed' },
    title: { type: 'string', description: 'The same for every problem of this code', example: 'The request is invalid' },
    status: { type: 'integer', minimum: 400, maximum: 599, description: 'The HTTP status', example: 400 },
    code: { type: 'string', enum: Object.values(ProblemCode), description: 'Stable, for programs', example: ProblemCode.VALIDATION_FAILED },
    detail: { type: 'string', description: 'What went wrong with this request', example: '1 invalid field(s)' },
    instance: { type: 'string', description: 'The request path', example: '/api/orders' },
    correlationId: { type: 'string', description: 'As in the `X-Correlation-Id` header: quote it when reporting a problem', example: 'req-7f3a' },
    errors: { type: 'array', description: 'For a 400: every violated field', items: { $ref: '#/components/schemas/FieldViolation' } },
  },
  required: ['type', 'title', 'status', 'code'],
};

/** The answers the global guards, middleware and filter give, by status, with their default descriptions. */
const COMMON: Record<string, string> = {
  '400': 'The body is not valid JSON, or uses a forbidden key (`__proto__`, `constructor`, `prototype`)',
  '401': 'No valid access token (code UNAUTHORIZED)',
  '403': 'The token lacks a scope this route needs (code FORBIDDEN)',
  '413': 'The body exceeds HTTP_BODY_LIMIT (code PAYLOAD_TOO_LARGE)',
  '415': 'The body is not application/json (code UNSUPPORTED_MEDIA_TYPE)',
  '429': 'Rate limited (code RATE_LIMITED): wait `Retry-After` seconds',
  '500': 'Unexpected error, logged with the correlation id (code INTERNAL_ERROR)',
  '503': 'The token issuer cannot be reached to check the token (code SERVICE_UNAVAILABLE): try again after `Retry-After` seconds',
};
/** Appended to a controller's own description of the same status. */
const ALSO: Record<string, string> = {
  '400': '; or the body is not valid JSON, or uses a forbidden key',
  '503': '; or the token issuer cannot be reached (code SERVICE_UNAVAILABLE, with `Retry-After`)',
};

function describeOperation(operation: OperationObject, method: string): void {
  const secured = (operation.security ?? []).length > 0;
  // Public routes say so: a document-wide `security` must never apply to the probes.
  if (!secured) operation.security = [];
  const statuses = ['429', '500', ...(secured ? ['401', '403', '503'] : []), ...(method === 'post' ? ['400', '413', '415'] : [])];
  // A copy: the responses a controller declares once are the same objects in each of its operations.
  // (JSON, not structuredClone: its objects would come from another realm under Jest, which js-yaml refuses.)
  const responses = JSON.parse(JSON.stringify(operation.responses)) as Record<string, ResponseObject>;
  for (const status of statuses) {
    if (!responses[status]) responses[status] = { description: COMMON[status] };
    else if (ALSO[status]) responses[status].description += ALSO[status];
  }
  for (const [status, response] of Object.entries(responses)) {
    if (Number(status) >= 400 && isProblem(response)) response.content = { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: PROBLEM_REF } } };
    response.headers = { ...response.headers, ...headersOf(Number(status), secured) };
  }
  operation.responses = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));
}

/** Undocumented content, or a Problem already: ProblemFilter writes it. */
function isProblem(response: ResponseObject): boolean {
  const media = Object.values(response.content ?? {});
  return media.every((m) => (m.schema as ReferenceObject | undefined)?.$ref === PROBLEM_REF);
}

function headersOf(status: number, secured: boolean): Record<string, HeaderObject | ReferenceObject> {
  const headers: Record<string, HeaderObject | ReferenceObject> = { 'X-Correlation-Id': ref('CorrelationId') };
  // 401, 403, 413 and 415 are answered before the rate limit counts the request.
  if (![401, 403, 413, 415].includes(status)) {
    Object.assign(headers, { 'RateLimit-Limit': ref('RateLimitLimit'), 'RateLimit-Remaining': ref('RateLimitRemaining'), 'RateLimit-Reset': ref('RateLimitReset') });
  }
  if (status === 401 || status === 403) headers['WWW-Authenticate'] = ref('WwwAuthenticate');
  if (status === 429) headers['Retry-After'] = { ...RETRY_AFTER, required: true };
  if (status === 503 && secured) headers['Retry-After'] = { ...RETRY_AFTER, description: 'When the token issuer cannot be reached: seconds to wait' };
  return headers;
}
