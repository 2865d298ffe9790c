import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { authConfig } from '../../config/auth.config.js';
import { OAUTH_AUTHORIZATION_CODE, OAUTH_CLIENT_CREDENTIALS } from '../auth/oauth-schemes.js';
import { SCOPE_DESCRIPTIONS } from '../auth/scopes.decorator.js';
import { describeResponses } from './openapi-responses.js';

export const DOCS_PATH = 'docs';

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const auth = authConfig();
  const scopes = { ...SCOPE_DESCRIPTIONS };
  const config = new DocumentBuilder()
    .setTitle('Order Flow')
    .setDescription(
      'Real-time order processing: submit an order, then follow it through inventory, payment and shipping. ' +
        'Every step is an event on Kafka; every status change is stored. Errors are RFC 9457 problem details with a stable `code`.\n\n' +
        `Authentication: OAuth 2.0 access tokens (JWT, RS256) from ${auth.issuer} for the audience \`${auth.audience}\`. ` +
        'Click **Authorize**: a machine client uses the client-credentials flow; a person uses the authorization-code flow with PKCE (Okta).',
    )
    .setVersion('1.0')
    .setLicense('MIT', 'https://opensource.org/licenses/MIT')
    // Relative: the document describes whichever deployment serves it (and Swagger UI calls that one).
    .addServer('/', 'The deployment serving this document')
    .addTag('orders', 'Submit and track orders')
    .addTag('inventory', "The inventory system's catalogue")
    .addTag('operations', 'Operator routes: dead letters and their replay, parked outbox messages and their release (scope orders.admin)')
    .addTag('health', 'Kubernetes probes')
    .addOAuth2(
      {
        type: 'oauth2',
        description: "Client credentials (machine clients; the local provider's demo client is `order-flow-dev` / `dev-secret`)",
        flows: { clientCredentials: { tokenUrl: auth.tokenUrl, scopes } },
      },
      OAUTH_CLIENT_CREDENTIALS,
    )
    .addOAuth2(
      {
        type: 'oauth2',
        description: 'Authorization code with PKCE (a person signing in at Okta through a SPA client; no secret)',
        flows: { authorizationCode: { authorizationUrl: auth.authorizationUrl, tokenUrl: auth.tokenUrl, scopes } },
      },
      OAUTH_AUTHORIZATION_CODE,
    )
    .build();
  return describeResponses(
    SwaggerModule.createDocument(app, config, { operationIdFactory: (controllerKey, methodKey) => `${controllerKey.replace(/Controller$/, '')}_${methodKey}` }),
  );
}

export function setupSwagger(app: INestApplication, document: OpenAPIObject = buildOpenApiDocument(app)): void {
  const auth = authConfig();
  SwaggerModule.setup(DOCS_PATH, app, document, {
    jsonDocumentUrl: `${DOCS_PATH}-json`,
    yamlDocumentUrl: `${DOCS_PATH}-yaml`,
    swaggerOptions: {
      persistAuthorization: true,
      // The PKCE flow needs no secret; a client secret typed in for client credentials stays in the page.
      initOAuth: { ...(auth.swaggerClientId ? { clientId: auth.swaggerClientId } : {}), usePkceWithAuthorizationCodeGrant: true, scopeSeparator: ' ' },
    },
  });
}
