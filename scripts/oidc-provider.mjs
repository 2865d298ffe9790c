#!/usr/bin/env node
/**
 * A local OpenID provider that stands in for Okta in development and tests (docs/security.md).
 *
 * It issues RS256 JWT access tokens through the client-credentials grant, with the API as audience
 * (resource indicators) and the requested scopes. Its endpoints sit where an Okta custom authorization
 * server has them (`/v1/token`, `/v1/keys`, discovery under the issuer), so the service verifies its
 * tokens with the very code it uses for Okta: only AUTH_ISSUER_URL differs.
 *
 *   node scripts/oidc-provider.mjs                 run it (OIDC_PORT, default 4000)
 *   node scripts/oidc-provider.mjs token [client]  print a token from the running provider
 *
 * For tests: `startOidcProvider(options)` and `issueTestToken(options)` below. The signing key is made
 * fresh at each start and lives only in memory.
 */
import { generateKeyPairSync, randomBytes, randomUUID, createSign } from 'node:crypto';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import Provider, { errors } from 'oidc-provider';

export const API_SCOPES = ['orders.read', 'orders.write', 'orders.admin'];
export const DEFAULT_AUDIENCE = 'api://order-flow';
export const DEFAULT_PORT = 4000;

/**
 * Demo clients: one with every scope (an operator: `orders.admin` sees every order), one that may only
 * read, and a second API client (a partner shop) that reads and writes only its own orders.
 */
export const DEFAULT_CLIENTS = [
  { clientId: 'order-flow-dev', clientSecret: 'dev-secret', scopes: API_SCOPES },
  { clientId: 'order-flow-reader', clientSecret: 'reader-secret', scopes: ['orders.read'] },
  { clientId: 'order-flow-partner', clientSecret: 'partner-secret', scopes: ['orders.read', 'orders.write'] },
];

/** Origins whose browser pages (Swagger UI of a service on the usual ports) may call the token endpoint. */
export const DEFAULT_CORS_ORIGINS = ['http://localhost:3000', 'http://127.0.0.1:3000'];

function corsCheck(corsOrigins) {
  if (typeof corsOrigins === 'function') return corsOrigins;
  const allowed = new Set(corsOrigins);
  return (origin) => allowed.has('*') || allowed.has(origin);
}

/**
 * Starts the provider. `port: 0` picks a free port; the issuer is then `http://127.0.0.1:<port>`
 * unless `issuer` is given.
 *
 * @param {{ port?: number, host?: string, issuer?: string, audience?: string,
 *   clients?: Array<{ clientId: string, clientSecret: string, scopes: string[] }>,
 *   corsOrigins?: string[] | ((origin: string) => boolean), accessTokenTtlSeconds?: number }} [options]
 * @returns {Promise<{ issuer: string, audience: string, port: number, tokenUrl: string,
 *   signToken(claims: object, header?: object): string, close(): Promise<void> }>}
 */
export async function startOidcProvider(options = {}) {
  const {
    port = DEFAULT_PORT,
    host = '127.0.0.1',
    audience = DEFAULT_AUDIENCE,
    clients = DEFAULT_CLIENTS,
    corsOrigins = DEFAULT_CORS_ORIGINS,
    accessTokenTtlSeconds = 3600,
  } = options;

  const server = createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const actualPort = server.address().port;
  const issuer = (options.issuer ?? `http://${host}:${actualPort}`).replace(/\/+$/, '');

  const kid = `dev-${randomUUID().slice(0, 8)}`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  const allowOrigin = corsCheck(corsOrigins);
  const scopeList = API_SCOPES.join(' ');

  const provider = new Provider(issuer, {
    clients: clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: c.scopes.join(' '),
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: { keys: [jwk] },
    scopes: API_SCOPES,
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    // Okta's custom authorization servers serve these paths under the issuer.
    routes: {
      authorization: '/v1/authorize',
      token: '/v1/token',
      jwks: '/v1/keys',
      userinfo: '/v1/userinfo',
      end_session: '/v1/logout',
      revocation: '/v1/revoke',
      introspection: '/v1/introspect',
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // Swagger UI and curl need not send `resource`: the API is the only resource server here.
        defaultResource: () => audience,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resourceIndicator) => {
          if (resourceIndicator !== audience) throw new errors.InvalidTarget();
          return { audience, scope: scopeList, accessTokenTTL: accessTokenTtlSeconds, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
        },
      },
    },
    ttl: { ClientCredentials: accessTokenTtlSeconds, AccessToken: accessTokenTtlSeconds },
    // Swagger UI calls the token endpoint from the browser, from the service's origin.
    clientBasedCORS: (_ctx, origin) => allowOrigin(origin),
  });
  provider.on('server_error', (_ctx, err) => console.error(`oidc-provider: ${err.message}`));
  server.on('request', provider.callback());

  const sign = (claims, header = {}) => {
    const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const input = `${enc({ alg: 'RS256', typ: 'at+jwt', kid, ...header })}.${enc(claims)}`;
    return `${input}.${createSign('RSA-SHA256').update(input).sign(privateKey).toString('base64url')}`;
  };

  return {
    issuer,
    audience,
    port: actualPort,
    tokenUrl: `${issuer}/v1/token`,
    /**
     * Tests only: signs arbitrary claims with the provider's own key (expired, not-yet-valid, `scp`
     * array, wrong audience …). Claims are taken as given; add `iss`, `aud`, `exp` yourself.
     */
    signToken: sign,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/**
 * Gets an access token through the client-credentials grant, as any API client would.
 *
 * @param {{ issuer?: string, clientId?: string, clientSecret?: string, scope?: string }} [options]
 * @returns {Promise<string>} the access token
 */
export async function issueTestToken(options = {}) {
  const {
    issuer = `http://127.0.0.1:${DEFAULT_PORT}`,
    clientId = DEFAULT_CLIENTS[0].clientId,
    clientSecret = DEFAULT_CLIENTS[0].clientSecret,
    scope = API_SCOPES.join(' '),
  } = options;
  const res = await fetch(`${issuer.replace(/\/+$/, '')}/v1/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope }),
  });
  const body = await res.json();
  if (!res.ok) throw new Error(`token request for ${clientId} failed: ${res.status} ${body.error ?? ''} ${body.error_description ?? ''}`.trim());
  return body.access_token;
}

async function main(argv) {
  const port = Number(process.env.OIDC_PORT ?? DEFAULT_PORT);
  const audience = process.env.AUTH_AUDIENCE ?? DEFAULT_AUDIENCE;
  if (argv[0] === 'token') {
    const client = DEFAULT_CLIENTS.find((c) => c.clientId === (argv[1] ?? DEFAULT_CLIENTS[0].clientId));
    if (!client) throw new Error(`unknown client ${argv[1]}; the demo clients are ${DEFAULT_CLIENTS.map((c) => c.clientId).join(', ')}`);
    const issuer = process.env.OIDC_ISSUER ?? process.env.AUTH_ISSUER_URL ?? `http://127.0.0.1:${port}`;
    process.stdout.write(`${await issueTestToken({ issuer, clientId: client.clientId, clientSecret: client.clientSecret, scope: argv[2] ?? client.scopes.join(' ') })}\n`);
    return;
  }
  const corsOrigins = (process.env.OIDC_CORS_ORIGINS ?? DEFAULT_CORS_ORIGINS.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const op = await startOidcProvider({ port, host: process.env.OIDC_HOST ?? '127.0.0.1', issuer: process.env.OIDC_ISSUER, audience, corsOrigins });
  const [first] = DEFAULT_CLIENTS;
  console.log(`OpenID provider for development: issuer ${op.issuer}, audience ${audience}`);
  for (const c of DEFAULT_CLIENTS) console.log(`  client ${c.clientId} / ${c.clientSecret}: ${c.scopes.join(' ')}`);
  console.log(`  CORS allowed for ${corsOrigins.join(', ')}`);
  console.log('Get a token:');
  console.log(`  curl -s -u ${first.clientId}:${first.clientSecret} -d grant_type=client_credentials -d 'scope=${first.scopes.join(' ')}' ${op.tokenUrl}`);
  console.log('  (or: TOKEN=$(node scripts/oidc-provider.mjs token))');
  const stop = () => op.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err.message);
    process.exit(1);
  });
}
