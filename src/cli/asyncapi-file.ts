import { readFileSync } from 'node:fs';
import { dump } from 'js-yaml';
import { validateEnv } from '../config/env.schema.js';
import { topicsOf } from '../config/kafka.config.js';
import { buildAsyncApi, type Component, type Subscription } from '../contracts/asyncapi.js';
import type { ConsumerGroupName } from '../platform/messaging/consumer-groups.js';
import type { MessageConsumer } from '../platform/messaging/message-handlers.js';
import { OrderSagaConsumer } from '../process/orders/order-saga.consumer.js';
import { InventoryConsumer } from '../system/inventory/inventory.consumer.js';
import { PaymentConsumer } from '../system/payment/payment.consumer.js';
import { ShippingConsumer } from '../system/shipping/shipping.consumer.js';

export const ASYNCAPI_FILE = 'asyncapi/asyncapi.yaml';

/** The component each consumer group belongs to: the process layer reads new orders in a group of its own. */
const COMPONENT_OF: { [G in ConsumerGroupName]: Component } = { intake: 'process', process: 'process', inventory: 'inventory', payment: 'payment', shipping: 'shipping' };

/**
 * What every consumer reads, from the handlers the code declares: the consumers are built without
 * their services (declaring handlers calls none), so the document cannot drift from them.
 */
function subscriptions(groupPrefix: string): Subscription[] {
  const none = undefined as never;
  const consumers: MessageConsumer[] = [new OrderSagaConsumer(none), new InventoryConsumer(none), new PaymentConsumer(none), new ShippingConsumer(none)];
  return consumers.flatMap((c) =>
    c.handlers.map((h) => ({ component: COMPONENT_OF[h.group], groupId: `${groupPrefix}-${h.group}`, topic: h.topic, accepts: h.accepts, ignores: h.ignores })),
  );
}

/** The committed AsyncAPI document: every topic, message and operation, with the default settings (whatever the environment says). */
export function renderAsyncApiYaml(): string {
  const defaults = validateEnv({});
  const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  const document = buildAsyncApi({
    version,
    brokers: defaults.KAFKA_BROKERS,
    partitions: defaults.KAFKA_TOPIC_PARTITIONS,
    topics: topicsOf(defaults),
    subscriptions: subscriptions(defaults.KAFKA_GROUP_PREFIX),
  });
  return `# Generated from src/contracts by \`npm run asyncapi\`; a unit test fails when this file is stale.\n${dump(document, { noRefs: true, lineWidth: 140, sortKeys: false })}`;
}
