import { envelopeSchema, type TypedEnvelope } from './envelope.js';
import type { DeadLetterReason } from './dead-letter.js';
import { isEventType, payloadSchemas, SCHEMA_VERSIONS, type EventType } from './messages.js';
import { describeIssues } from './schema-kit.js';

/** A message that breaks the contract: it can never be processed as it is. `reason` is its dead letter's. */
export class ContractViolation extends Error {
  override name = 'ContractViolation';
  constructor(
    readonly reason: Exclude<DeadLetterReason, 'PROCESSING_FAILED'>,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Parses a message value (a Buffer or string of JSON, or an object) as one of the event types in
 * `accepts`, by the versioning rules of docs/events.md: its major `schemaVersion` must be the one this
 * code knows for its type; keys the schemas do not know are dropped; a missing or mistyped field is
 * refused. Throws a ContractViolation otherwise.
 *
 * Runs for every consumed message, so it only runs the schemas built once at load: nothing is compiled here.
 */
export function parseMessage<T extends EventType>(value: unknown, accepts: readonly T[]): TypedEnvelope<T> {
  let data = value;
  if (Buffer.isBuffer(data)) data = data.toString('utf8');
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data);
    } catch {
      throw new ContractViolation('INVALID_MESSAGE', 'value is not JSON');
    }
  }
  unsupportedVersion(data);
  const env = envelopeSchema.safeParse(data);
  if (!env.success) throw new ContractViolation('INVALID_MESSAGE', `invalid envelope: ${describeIssues(env.error)}`);
  const envelope = env.data;
  if (!isEventType(envelope.eventType) || !(accepts as readonly string[]).includes(envelope.eventType)) {
    throw new ContractViolation('UNEXPECTED_EVENT_TYPE', `unexpected event type ${envelope.eventType} (expected ${accepts.join(', ')})`);
  }
  const payload = payloadSchemas[envelope.eventType].safeParse(envelope.payload);
  if (!payload.success) throw new ContractViolation('INVALID_MESSAGE', `invalid ${envelope.eventType} payload: ${describeIssues(payload.error)}`);
  return { ...envelope, payload: payload.data } as TypedEnvelope<T>;
}

/**
 * Checked before the envelope's schema, which a later major may have changed: a message of a known
 * type whose `schemaVersion` is a whole number other than its type's major is refused for its version,
 * whatever else it holds. Anything else (no version, an unknown type) is left to the schemas.
 */
function unsupportedVersion(data: unknown): void {
  if (typeof data !== 'object' || data === null) return;
  const { eventType, schemaVersion } = data as { eventType?: unknown; schemaVersion?: unknown };
  if (typeof eventType !== 'string' || !isEventType(eventType)) return;
  const major = typeof schemaVersion === 'string' && /^\s*\d+\s*$/.test(schemaVersion) ? Number(schemaVersion) : schemaVersion;
  if (typeof major !== 'number' || !Number.isInteger(major) || major < 1) return;
  const known = SCHEMA_VERSIONS[eventType];
  if (major !== known) throw new ContractViolation('UNSUPPORTED_SCHEMA_VERSION', `unsupported schemaVersion ${major} of ${eventType} (this consumer reads major ${known})`);
}
