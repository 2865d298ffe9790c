import 'reflect-metadata';
import { Parser } from '@asyncapi/parser';
import { Ajv } from 'ajv';
import { readFileSync } from 'node:fs';
import { load } from 'js-yaml';
import { ASYNCAPI_FILE, renderAsyncApiYaml } from '../../../src/cli/asyncapi-file.js';
import { DEAD_LETTER_REASONS } from '../../../src/contracts/dead-letter.js';
import { newEnvelope } from '../../../src/contracts/envelope.js';
import { payloadSchemas, type EventType } from '../../../src/contracts/messages.js';
import { TOPIC_OF } from '../../../src/contracts/topics.js';
import { PAYLOAD_CASES } from './cases.js';

const committed = readFileSync(ASYNCAPI_FILE, 'utf8');
const doc = load(committed) as any;

describe('asyncapi/asyncapi.yaml', () => {
  it('is what the contracts generate now (run `npm run asyncapi` after changing a message, a topic or a consumer)', () => {
    expect(committed).toBe(renderAsyncApiYaml());
  });

  it('is a valid AsyncAPI 3.0 document: the AsyncAPI parser reports no error and no warning', async () => {
    const { document, diagnostics } = await new Parser().parse(committed);
    // Severity 0 is an error, 1 a warning (2 and 3 are hints, e.g. that AsyncAPI 3.1 exists).
    expect(diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.code} at ${d.path.join('.')}: ${d.message}`)).toEqual([]);
    expect(document?.version()).toBe('3.0.0');
  });

  it('has a channel for every topic, named as by default, with the message types it carries', () => {
    const addresses = Object.fromEntries(Object.entries(doc.channels).map(([id, c]: [string, any]) => [id, c.address]));
    expect(addresses).toEqual({
      ordersIn: 'orders-in',
      ordersValidated: 'orders-validated',
      orderStatus: 'order-status',
      inventoryUpdates: 'inventory-updates',
      shippingUpdates: 'shipping-updates',
      inventoryRequests: 'inventory-requests',
      inventoryReplies: 'inventory-replies',
      paymentRequests: 'payment-requests',
      paymentReplies: 'payment-replies',
      shippingReplies: 'shipping-replies',
      dlq: 'dlq-orders',
    });
    for (const [type, topic] of Object.entries(TOPIC_OF)) expect(Object.keys(doc.channels[topic].messages)).toContain(type);
    expect(Object.keys(doc.channels.dlq.messages)).toEqual(['DeadLetter']);
  });

  it('describes every message with its key, headers (traceparent optional) and the envelope around its payload', () => {
    expect(Object.keys(doc.components.messages).sort()).toEqual([...Object.keys(payloadSchemas), 'DeadLetter'].sort());
    for (const type of Object.keys(payloadSchemas)) {
      const message = doc.components.messages[type];
      expect(message.bindings.kafka.key).toMatchObject({ type: 'string', description: 'The orderId' });
      expect(message.headers.properties['x-event-type']).toMatchObject({ const: type });
      expect(Object.keys(message.headers.properties)).toEqual(['x-correlation-id', 'x-event-type', 'traceparent']);
      expect(message.headers.required).toEqual(['x-correlation-id', 'x-event-type']);
      expect(message.payload.required).toEqual(['eventId', 'eventType', 'occurredAt', 'orderId', 'correlationId', 'schemaVersion', 'payload']);
      expect(message.payload.properties.schemaVersion).toMatchObject({ type: 'integer', const: 1 });
      // Open objects: a newer producer of the same major version may add fields.
      expect(message.payload.additionalProperties).toBeUndefined();
    }
    const letter = doc.components.messages.DeadLetter;
    expect(letter.headers.properties['x-event-type']).toEqual({ type: 'string', const: 'DeadLetter' });
    expect(letter.payload.properties.reason.enum).toEqual([...DEAD_LETTER_REASONS]);
    expect(letter.payload.properties.reason.enum).toContain('UNSUPPORTED_SCHEMA_VERSION');
    expect(Object.keys(letter.payload.properties)).toEqual([
      'originTopic',
      'partition',
      'offset',
      'consumerGroup',
      'reason',
      'error',
      'attempts',
      'failedAt',
      'key',
      'headers',
      'value',
    ]);
  });

  it('gives every field a type: nothing zod could not express is left as an empty schema', () => {
    const untyped: string[] = [];
    const visit = (schema: any, path: string) => {
      if (!schema.type && !schema.anyOf && !schema.enum && schema.const === undefined) untyped.push(path);
      for (const [key, sub] of Object.entries(schema.properties ?? {})) visit(sub, `${path}.${key}`);
      if (schema.items) visit(schema.items, `${path}[]`);
      for (const sub of schema.anyOf ?? []) visit(sub, `${path}|`);
    };
    for (const [name, message] of Object.entries(doc.components.messages) as Array<[string, any]>) {
      visit(message.payload, `${name}.payload`);
      visit(message.headers, `${name}.headers`);
    }
    expect(untyped).toEqual([]);
  });

  it('accepts, as each message’s payload schema, what the producers write', () => {
    const ajv = new Ajv({ allErrors: true, validateFormats: false, strict: false });
    let checked = 0;
    for (const [type, value] of PAYLOAD_CASES) {
      const parsed = payloadSchemas[type].safeParse(value);
      if (!parsed.success) continue;
      const envelope = JSON.parse(JSON.stringify(newEnvelope(type, '5b0c2a4e-6f1d-4c8a-9e2b-3d4f5a6b7c8d', parsed.data as never, { correlationId: 'c', causationId: 'e' })));
      const validate = ajv.compile(doc.components.messages[type].payload);
      expect({ type, valid: validate(envelope), errors: validate.errors ?? null }).toEqual({ type, valid: true, errors: null });
      checked++;
    }
    expect(checked).toBeGreaterThan(20);
  });

  it('has the send and receive operations of every component, the consumers’ from their handlers', () => {
    const ops = Object.entries(doc.operations) as Array<[string, any]>;
    const summary = (action: string) =>
      ops
        .filter(([, op]) => op.action === action)
        .map(([id, op]) => `${id}: ${op.messages.map((m: { $ref: string }) => m.$ref.split('/').pop()).join(',')}`)
        .sort();
    expect(summary('receive')).toEqual([
      'inventoryReceivesFromInventoryRequests: ReserveStock,ReleaseStock,CommitStock',
      'paymentReceivesFromPaymentRequests: ChargePayment,RefundPayment',
      'processReceivesFromInventoryReplies: StockReservationConfirmed,StockReservationRejected,StockReleaseConfirmed',
      'processReceivesFromOrdersIn: OrderCreated,OrderCancellationRequested',
      'processReceivesFromOrdersValidated: OrderValidated',
      'processReceivesFromPaymentReplies: PaymentCharged,PaymentRejected,PaymentRefunded',
      'processReceivesFromShippingReplies: ShipmentCreated,ShipmentRejected,ShipmentCancelled',
      'processReceivesFromShippingUpdates: ShipmentStatusChanged,ShipmentRequested,CancelShipment',
      'shippingReceivesFromShippingUpdates: ShipmentRequested,CancelShipment,ShipmentStatusChanged',
    ]);
    expect(doc.operations.processReceivesFromOrdersIn.bindings.kafka.groupId.const).toBe('order-flow-intake');
    const sent = new Set(ops.filter(([, op]) => op.action === 'send').flatMap(([, op]) => op.messages.map((m: { $ref: string }) => m.$ref.split('/').pop() as EventType)));
    expect([...sent].sort()).toEqual([...Object.keys(payloadSchemas), 'DeadLetter'].sort());
    for (const component of ['process', 'inventory', 'payment', 'shipping']) expect(doc.operations[`${component}SendsToDlq`].channel.$ref).toBe('#/channels/dlq');
    expect(doc.operations.experienceSendsToOrdersIn.messages).toEqual([
      { $ref: '#/channels/ordersIn/messages/OrderCreated' },
      { $ref: '#/channels/ordersIn/messages/OrderCancellationRequested' },
    ]);
  });
});
