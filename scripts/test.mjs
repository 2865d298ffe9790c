#!/usr/bin/env node
// `npm test`: the same set-up as `npm start`, in isolation (its own broker ports and data dir, its
// own database), then the unit and e2e suites. Exit code is Jest's.
//
//   node scripts/test.mjs [--unit | --e2e] [jest args…]   e.g. --e2e test/e2e/saga
//
// Environment: TEST_DATABASE_URL (default mariadb://root@127.0.0.1:3306/order_flow_test), TEST_REDIS_URL
// (redis://127.0.0.1:6379, started when it does not answer),
// TEST_KAFKA_PORT (19092), or KAFKA_BROKERS to use an existing cluster instead of the local broker.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { startKafka, stopKafka } from './kafka.mjs';
import { ROOT, build, database, ensureDependencies, ensureMariaDb, ensureProjectNode, ensureRedis, log } from './lib/infra.mjs';

const args = process.argv.slice(2);
const only = args.includes('--unit') ? 'unit' : args.includes('--e2e') ? 'e2e' : null;
const jestArgs = args.filter((a) => a !== '--unit' && a !== '--e2e');

ensureDependencies();
await ensureProjectNode();
log(`running on Node ${process.version}`);

const env = {
  ...process.env,
  NODE_ENV: 'test',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  DATABASE_URL: process.env.TEST_DATABASE_URL ?? 'mariadb://root@127.0.0.1:3306/order_flow_test',
  TEST_REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
  NODE_OPTIONS: [process.env.NODE_OPTIONS, '--experimental-vm-modules', '--no-warnings=ExperimentalWarning'].filter(Boolean).join(' '),
};

const kafkaOptions = {
  port: Number(process.env.TEST_KAFKA_PORT ?? 19092),
  controllerPort: Number(process.env.TEST_KAFKA_PORT ?? 19092) + 1,
  dataDir: path.join(ROOT, '.local', 'kafka-test-data'),
};
let kafkaStartedByUs = false;

async function setUpInfrastructure() {
  await ensureMariaDb(env.DATABASE_URL);
  await ensureRedis(env.TEST_REDIS_URL);
  if (process.env.KAFKA_BROKERS) {
    log(`using the Kafka cluster at ${process.env.KAFKA_BROKERS}`);
  } else {
    // A fresh broker each run: no offsets or messages left over from an earlier run.
    await stopKafka(kafkaOptions);
    fs.rmSync(kafkaOptions.dataDir, { recursive: true, force: true });
    const kafka = await startKafka(kafkaOptions);
    kafkaStartedByUs = kafka.startedByUs;
    env.KAFKA_BROKERS = kafka.brokers;
    // Lets tests stop and restart the broker (the outage test).
    env.TEST_KAFKA_PORT = String(kafkaOptions.port);
    env.TEST_KAFKA_DATA_DIR = kafkaOptions.dataDir;
  }
  build();
  log(`resetting the test database (${new URL(env.DATABASE_URL).pathname.slice(1)})`);
  database('reset', env);
}

let status = 1;
try {
  if (only !== 'unit') await setUpInfrastructure();
  const projects = only ? ['--selectProjects', only] : [];
  const started = Date.now();
  const result = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '--runInBand', '--forceExit', ...jestArgs, ...projects], {
    cwd: ROOT,
    env,
    stdio: 'inherit',
  });
  status = result.status ?? 1;
  log(`tests finished in ${((Date.now() - started) / 1000).toFixed(0)} s`);
} catch (err) {
  console.error(`[order-flow] test set-up failed: ${err.message}`);
} finally {
  if (kafkaStartedByUs) await stopKafka(kafkaOptions).catch(() => undefined);
}
process.exit(status);
