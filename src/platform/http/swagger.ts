import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';

export const DOCS_PATH = 'docs';

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Order Flow')
    .setDescription(
      'Real-time order processing: submit an order, then follow it through inventory, payment and shipping. ' +
        'Every step is an event on Kafka; every status change is stored. Errors are RFC 9457 problem details with a stable `code`.',
    )
    .setVersion('1.0')
    .addTag('orders', 'Submit and track orders')
    .addTag('inventory', "The inventory system's catalogue")
    .addTag('health', 'Kubernetes probes')
    .build();
  return SwaggerModule.createDocument(app, config, { operationIdFactory: (controllerKey, methodKey) => `${controllerKey.replace(/Controller$/, '')}_${methodKey}` });
}

export function setupSwagger(app: INestApplication, document: OpenAPIObject = buildOpenApiDocument(app)): void {
  SwaggerModule.setup(DOCS_PATH, app, document, { jsonDocumentUrl: `${DOCS_PATH}-json`, yamlDocumentUrl: `${DOCS_PATH}-yaml`, swaggerOptions: { persistAuthorization: true } });
}
