#!/usr/bin/env node
// Smoke test of the local Kafka (scripts/kafka.mjs) with kafkajs, the client the service uses.
//
//   node scripts/kafka-smoke.mjs [--security plain|scram|both]   (default both)
//
// Starts a throwaway broker per mode on free ports in a temporary data dir, checks it, stops it
// and deletes the dir. With KAFKA_BROKERS set, runs only the plain checks against that cluster.
//
// plain: admin.createTopics (6 partitions), idempotent producer (acks -1), consumer group with
//        autoCommit false + commitOffsets, admin.fetchOffsets.
// scram: the same with SCRAM-SHA-512 users and ACLs: admin creates the topic and the ACLs, a
//        producer user with WRITE+DESCRIBE on the topic produces, a consumer user with READ on
//        the topic and READ on the group consumes and commits, a user without ACLs is refused,
//        a wrong password is refused.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startKafka, stopKafka } from './kafka.mjs';

function loadKafkajs() {
  for (const base of [path.join(process.cwd(), 'x.js'), import.meta.url]) {
    try {
      return createRequire(base)('kafkajs');
    } catch {
      /* try the next place */
    }
  }
  throw new Error('kafkajs not found: run npm install (it is a dependency of the project)');
}
const { Kafka, logLevel, AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } = loadKafkajs();

const USERS = {
  admin: { username: 'admin', password: 'admin-secret' },
  producer: { username: 'smoke-producer', password: 'producer-secret' },
  consumer: { username: 'smoke-consumer', password: 'consumer-secret' },
  nobody: { username: 'smoke-nobody', password: 'nobody-secret' },
};
const MESSAGES = 60;
let passed = 0;
let failed = 0;

function check(name, ok, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
}

function describeError(e) {
  if (!e) return 'no error';
  let s = `${e.name}${e.type ? ` ${e.type}` : ''}: ${e.message}`;
  if (e.errors?.length) s += ` [${e.errors.map((x) => `${x.type || x.name}: ${x.message}`).join('; ')}]`;
  if (e.cause && e.cause !== e) s += ` (cause ${describeError(e.cause)})`;
  return s;
}

async function freePorts(n) {
  const servers = [];
  const ports = [];
  for (let i = 0; i < n; i++) {
    const srv = net.createServer();
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    servers.push(srv);
    ports.push(srv.address().port);
  }
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

function client(brokers, user) {
  return new Kafka({
    clientId: 'kafka-smoke',
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    retry: { retries: 3, initialRetryTime: 100 },
    ...(user ? { sasl: { mechanism: 'scram-sha-512', username: user.username, password: user.password } } : {}),
  });
}

async function produce(kafka, topic, count, { idempotent = true } = {}) {
  const producer = kafka.producer(idempotent ? { idempotent: true, maxInFlightRequests: 1 } : { retry: { retries: 0 } });
  await producer.connect();
  try {
    return await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: count }, (_, i) => ({ key: `key-${i}`, value: JSON.stringify({ i }) })),
    });
  } finally {
    await producer.disconnect();
  }
}

/** Consumes `count` messages with autoCommit off, committing each offset by hand. */
async function consume(kafka, topic, groupId, count, timeoutMs = 30_000) {
  const consumer = kafka.consumer({ groupId, retry: { retries: 2 } });
  let crash;
  consumer.on(consumer.events.CRASH, (ev) => (crash = ev.payload.error));
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let n = 0;
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(crash || new Error(`consumed ${n}/${count} in ${timeoutMs}ms`)), timeoutMs);
      const poll = setInterval(() => {
        if (crash) {
          clearTimeout(timer);
          clearInterval(poll);
          reject(crash);
        }
      }, 100);
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            n++;
            await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
            if (n === count) {
              clearTimeout(timer);
              clearInterval(poll);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    return n;
  } finally {
    await consumer.disconnect();
  }
}

async function committedTotal(admin, groupId, topic) {
  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
  return offsets[0].partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

async function plainChecks(brokers) {
  const kafka = client(brokers);
  const topic = `smoke-${Date.now()}`;
  const groupId = `${topic}-group`;
  const admin = kafka.admin();
  await admin.connect();
  try {
    const created = await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    check('plain: admin.createTopics with 6 partitions', created && md.topics[0].partitions.length === 6);
    const res = await produce(kafka, topic, MESSAGES);
    check(
      'plain: idempotent producer, acks -1',
      res.every((r) => r.errorCode === 0),
      `${MESSAGES} messages`,
    );
    const n = await consume(kafka, topic, groupId, MESSAGES);
    check('plain: consumer group, autoCommit false, commitOffsets', n === MESSAGES, `${n} messages`);
    const total = await committedTotal(admin, groupId, topic);
    check('plain: admin.fetchOffsets', total === MESSAGES, `committed offsets sum ${total}`);
    await admin.deleteTopics({ topics: [topic] });
  } finally {
    await admin.disconnect();
  }
}

async function expectFailure(name, fn, expected) {
  try {
    await fn();
    check(name, false, 'succeeded but should have been refused');
  } catch (e) {
    const text = describeError(e);
    check(name, expected.test(text), text);
  }
}

async function scramChecks(brokers) {
  const topic = `smoke-acl-${Date.now()}`;
  const groupId = `${topic}-group`;
  const [RT, OP] = [AclResourceTypes, AclOperationTypes];
  const acl = (user, resourceType, resourceName, operation) => ({
    resourceType,
    resourceName,
    resourcePatternType: ResourcePatternTypes.LITERAL,
    principal: `User:${user.username}`,
    host: '*',
    operation,
    permissionType: AclPermissionTypes.ALLOW,
  });
  const admin = client(brokers, USERS.admin).admin();
  await admin.connect();
  try {
    const created = await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
    check('scram: admin creates a topic', created);
    await admin.createAcls({
      acl: [
        acl(USERS.producer, RT.TOPIC, topic, OP.WRITE),
        acl(USERS.producer, RT.TOPIC, topic, OP.DESCRIBE),
        acl(USERS.consumer, RT.TOPIC, topic, OP.READ),
        acl(USERS.consumer, RT.GROUP, groupId, OP.READ),
      ],
    });
    check('scram: admin.createAcls', true, 'producer WRITE+DESCRIBE topic; consumer READ topic + READ group');

    const res = await produce(client(brokers, USERS.producer), topic, MESSAGES);
    check(
      'scram: producer user (WRITE+DESCRIBE) produces idempotently',
      res.every((r) => r.errorCode === 0),
    );
    const n = await consume(client(brokers, USERS.consumer), topic, groupId, MESSAGES);
    check('scram: consumer user (READ topic + READ group) consumes and commits', n === MESSAGES, `${n} messages`);
    const total = await committedTotal(admin, groupId, topic);
    check('scram: admin.fetchOffsets', total === MESSAGES, `committed offsets sum ${total}`);

    await expectFailure('scram: user without ACLs, idempotent producer refused', () => produce(client(brokers, USERS.nobody), topic, 1), /CLUSTER_AUTHORIZATION_FAILED/);
    await expectFailure(
      'scram: user without ACLs, plain producer refused',
      () => produce(client(brokers, USERS.nobody), topic, 1, { idempotent: false }),
      /TOPIC_AUTHORIZATION_FAILED/,
    );
    await expectFailure(
      'scram: user without ACLs, consumer refused',
      () => consume(client(brokers, USERS.nobody), topic, groupId, 1, 15_000),
      /TOPIC_AUTHORIZATION_FAILED|GroupCoordinatorNotFound/,
    );
    await expectFailure(
      'scram: consumer user in a group without a group ACL refused',
      () => consume(client(brokers, USERS.consumer), topic, `${groupId}-other`, 1, 15_000),
      /GroupCoordinatorNotFound|GROUP_AUTHORIZATION_FAILED/,
    );
    await expectFailure(
      'scram: producer user cannot create topics',
      async () => {
        const a = client(brokers, USERS.producer).admin();
        await a.connect();
        try {
          await a.createTopics({ topics: [{ topic: `${topic}-x` }] });
        } finally {
          await a.disconnect();
        }
      },
      /TOPIC_AUTHORIZATION_FAILED/,
    );
    await expectFailure('scram: wrong password refused', () => produce(client(brokers, { ...USERS.producer, password: 'wrong' }), topic, 1), /SASLAuthentication/);
  } finally {
    await admin.disconnect();
  }
}

async function withThrowawayBroker(security, fn) {
  const [port, controllerPort] = await freePorts(2);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `kafka-smoke-${security}-`));
  const opts = {
    security,
    port,
    controllerPort,
    dataDir,
    adminUser: USERS.admin.username,
    adminPassword: USERS.admin.password,
    scramUsers: [USERS.producer, USERS.consumer, USERS.nobody],
    env: { ...process.env, KAFKA_BROKERS: '' }, // always a local broker here
  };
  const t0 = Date.now();
  const { brokers } = await startKafka(opts);
  console.log(`${security}: broker ${brokers} started in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  try {
    await fn(brokers);
  } finally {
    await stopKafka(opts);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main() {
  const i = process.argv.indexOf('--security');
  const mode = i > 0 ? process.argv[i + 1] : 'both';
  if (!['plain', 'scram', 'both'].includes(mode)) throw new Error('--security must be plain, scram or both');
  if (process.env.KAFKA_BROKERS) {
    console.log(`KAFKA_BROKERS is set (${process.env.KAFKA_BROKERS}): plain checks against it`);
    await plainChecks(process.env.KAFKA_BROKERS.split(',')[0]);
  } else {
    if (mode !== 'scram') await withThrowawayBroker('plain', plainChecks);
    if (mode !== 'plain') await withThrowawayBroker('scram', scramChecks);
  }
  console.log(`kafka-smoke: ${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`kafka-smoke: ERROR: ${describeError(e)}`);
    process.exit(1);
  },
);
