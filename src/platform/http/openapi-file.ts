import { NestFactory } from '@nestjs/core';
import { dump } from 'js-yaml';
import { AppModule } from '../../app.module.js';
import { API_PREFIX, API_PREFIX_OPTIONS } from '../../bootstrap.js';
import { buildOpenApiDocument } from './swagger.js';

export const OPENAPI_FILE = 'openapi/openapi.yaml';

/**
 * The committed OpenAPI document, generated from the code with every layer and the default
 * settings, without connecting to anything (Nest preview mode instantiates no provider).
 */
export async function renderOpenApiYaml(): Promise<string> {
  const app = await NestFactory.create(AppModule.register(['experience', 'process', 'system']), { preview: true, logger: false, abortOnError: false });
  app.setGlobalPrefix(API_PREFIX, API_PREFIX_OPTIONS);
  const document = buildOpenApiDocument(app);
  await app.close();
  return `# Generated from the code by \`npm run openapi\`; a unit test fails when this file is stale.\n${dump(document, { noRefs: true, lineWidth: 140, sortKeys: false })}`;
}
