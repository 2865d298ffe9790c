import { z } from 'zod';
import type { TopicKey } from '../config/kafka.config.js';
import { DEAD_LETTER_EVENT_TYPE, deadLetterSchema } from './dead-letter.js';
import { envelopeSchema, HEADER_CORRELATION_ID, HEADER_EVENT_TYPE, headersSchema } from './envelope.js';
import { payloadSchemas, SCHEMA_VERSIONS, type EventType } from './messages.js';
import { TOPIC_OF } from './topics.js';

/** The parts of the service that send and receive messages (docs/architecture.md §2). */
export const COMPONENTS = ['experience', 'process', 'inventory', 'payment', 'shipping'] as const;
export type Component = (typeof COMPONENTS)[number];

/** Which component writes each message type (docs/architecture.md §5): each type has one writer. */
export const WRITER_OF: { readonly [K in EventType]: Component } = {
  OrderCreated: 'experience',
  OrderCancellationRequested: 'experience',
  OrderValidated: 'process',
  OrderStatusChanged: 'process',
  ReserveStock: 'process',
  ReleaseStock: 'process',
  CommitStock: 'process',
  StockReservationConfirmed: 'inventory',
  StockReservationRejected: 'inventory',
  StockReleaseConfirmed: 'inventory',
  StockReserved: 'inventory',
  StockReleased: 'inventory',
  StockCommitted: 'inventory',
  ChargePayment: 'process',
  RefundPayment: 'process',
  PaymentCharged: 'payment',
  PaymentRejected: 'payment',
  PaymentRefunded: 'payment',
  ShipmentRequested: 'process',
  CancelShipment: 'process',
  ShipmentStatusChanged: 'shipping',
  ShipmentCreated: 'shipping',
  ShipmentRejected: 'shipping',
  ShipmentCancelled: 'shipping',
};

/** What one consumer group reads from one topic: the types it validates, and those of them it passes over. */
export interface Subscription {
  component: Component;
  groupId: string;
  topic: TopicKey;
  accepts: readonly EventType[];
  ignores: readonly EventType[];
}

/** The settings the document describes (the defaults, for the committed one) and the consumers as the code declares them. */
export interface AsyncApiSource {
  version: string;
  brokers: string;
  partitions: number;
  topics: Readonly<Record<TopicKey, string>>;
  subscriptions: readonly Subscription[];
}

type Json = Record<string, unknown>;

/**
 * The AsyncAPI 3.0 document of every topic, message and operation, generated from the zod schemas
 * (the one source of the contract: docs/adr/0007-event-contract.md). Pure: the same source gives the
 * same document, key for key, so a test can tell when the committed one is stale.
 */
export function buildAsyncApi(source: AsyncApiSource): Json {
  const topicKeys = Object.keys(source.topics) as TopicKey[];
  const types = Object.keys(payloadSchemas) as EventType[];
  const typesOn = (topic: TopicKey) => types.filter((t) => TOPIC_OF[t] === topic);
  const messageRef = (topic: TopicKey, name: string) => ({ $ref: `#/channels/${topic}/messages/${name}` });

  const channels: Json = {};
  for (const topic of topicKeys) {
    const names = topic === 'dlq' ? [DEAD_LETTER_EVENT_TYPE] : typesOn(topic);
    channels[topic] = {
      address: source.topics[topic],
      title: source.topics[topic],
      description: `${topic === 'dlq' ? 'Messages a consumer group gave up on, with why (docs/architecture.md §7.3).' : 'Keyed by orderId: one order’s messages stay in order on one partition.'} The name is set by \`${envVarOf(topic)}\`; this is the default.`,
      messages: Object.fromEntries(names.map((name) => [name, { $ref: `#/components/messages/${name}` }])),
      bindings: { kafka: { topic: source.topics[topic], partitions: source.partitions, bindingVersion: KAFKA_BINDING } },
    };
  }

  const operations: Json = {};
  for (const component of COMPONENTS) {
    for (const topic of topicKeys) {
      const written = typesOn(topic).filter((t) => WRITER_OF[t] === component);
      if (!written.length) continue;
      operations[`${component}SendsTo${capitalized(topic)}`] = {
        action: 'send',
        title: `${component} writes ${source.topics[topic]}`,
        description: 'Through its transactional outbox: the message commits with the state change that caused it (docs/architecture.md §7.2).',
        channel: { $ref: `#/channels/${topic}` },
        messages: written.map((t) => messageRef(topic, t)),
      };
    }
  }
  for (const sub of source.subscriptions) {
    const ignored = sub.ignores.length ? ` It validates ${sub.ignores.join(', ')} and passes over them.` : '';
    operations[`${sub.component}ReceivesFrom${capitalized(sub.topic)}`] = {
      action: 'receive',
      title: `${sub.component} reads ${source.topics[sub.topic]} (group ${sub.groupId})`,
      description: `Validates each message (envelope, payload, schemaVersion) and dead-letters what it cannot process; commits the offset after its database work.${ignored}`,
      channel: { $ref: `#/channels/${sub.topic}` },
      messages: sub.accepts.map((t) => messageRef(sub.topic, t)),
      bindings: { kafka: { groupId: { type: 'string', const: sub.groupId }, bindingVersion: KAFKA_BINDING } },
    };
  }
  for (const component of new Set(source.subscriptions.map((s) => s.component))) {
    operations[`${component}SendsToDlq`] = {
      action: 'send',
      title: `${component} dead-letters what it cannot process`,
      channel: { $ref: '#/channels/dlq' },
      messages: [messageRef('dlq', DEAD_LETTER_EVENT_TYPE)],
    };
  }

  const messages: Json = {};
  for (const type of types) {
    const schema = envelopeSchema.extend({
      eventType: z.literal(type),
      schemaVersion: z
        .literal(SCHEMA_VERSIONS[type])
        .meta({ type: 'integer', description: 'The major version of this message type: a consumer dead-letters any other (docs/events.md)' }),
      payload: payloadSchemas[type],
    });
    messages[type] = {
      name: type,
      title: type,
      summary: `On ${source.topics[TOPIC_OF[type]]}, written by ${WRITER_OF[type]}.`,
      contentType: 'application/json',
      correlationId: { location: `$message.header#/${HEADER_CORRELATION_ID}` },
      headers: jsonSchema(headersSchema.extend({ [HEADER_EVENT_TYPE]: z.literal(type) })),
      payload: jsonSchema(schema),
      bindings: { kafka: { key: { type: 'string', format: 'uuid', description: 'The orderId' }, bindingVersion: KAFKA_BINDING } },
    };
  }
  messages[DEAD_LETTER_EVENT_TYPE] = {
    name: DEAD_LETTER_EVENT_TYPE,
    title: 'Dead letter',
    summary: `A message a consumer group gave up on, as it came, with where it was and why (\`reason\`). Replayed by \`npm run dlq -- replay\` or POST /api/admin/dead-letters/replay.`,
    contentType: 'application/json',
    headers: jsonSchema(
      z.object({
        [HEADER_EVENT_TYPE]: z.literal(DEAD_LETTER_EVENT_TYPE),
        [HEADER_CORRELATION_ID]: headersSchema.shape[HEADER_CORRELATION_ID].optional().meta({ description: 'The original message’s, when it had one' }),
      }),
    ),
    payload: jsonSchema(deadLetterSchema),
    bindings: { kafka: { key: { type: ['string', 'null'], description: 'The original message’s key' }, bindingVersion: KAFKA_BINDING } },
  };

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Order Flow events',
      version: source.version,
      description: [
        'Every topic, message and operation of the Order Flow service. Generated from the zod schemas in src/contracts by `npm run asyncapi`; a unit test fails when this document is stale.',
        '',
        'Every message is an envelope (eventId, eventType, occurredAt, orderId, correlationId, causationId?, schemaVersion, payload) keyed by its orderId, with the headers x-correlation-id, x-event-type and, optionally, traceparent.',
        'Versioning (docs/events.md): a message of a known major schemaVersion with fields a consumer does not know is accepted and those fields are ignored; an unknown major version goes to the DLQ with reason UNSUPPORTED_SCHEMA_VERSION.',
      ].join('\n'),
    },
    defaultContentType: 'application/json',
    servers: { kafka: { host: source.brokers, protocol: 'kafka', description: 'The brokers (`KAFKA_BROKERS`); this is the default.' } },
    channels,
    operations,
    components: { messages },
  };
}

const KAFKA_BINDING = '0.5.0';

/**
 * The schema's JSON Schema (draft-07, AsyncAPI's default schema format) for the messages as written.
 * Objects are left open: a consumer ignores the fields it does not know (zod drops them on the way in).
 */
function jsonSchema(schema: z.ZodType): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-07',
    io: 'output',
    unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema }) => {
      const def = zodSchema._zod.def;
      if (def.type === 'object' && !(def as { catchall?: unknown }).catchall) delete jsonSchema.additionalProperties;
    },
  });
  return rest;
}

/** `ordersIn` → `KAFKA_TOPIC_ORDERS_IN`, as src/config/env.schema.ts names them. */
function envVarOf(topic: TopicKey): string {
  return `KAFKA_TOPIC_${topic.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

function capitalized(s: string): string {
  return s[0].toUpperCase() + s.slice(1);
}
