#!/usr/bin/env node
// `npm start`: installs what is missing, brings up Kafka, the database and the local OpenID provider,
// migrates and seeds, starts the service and prints its URLs. Ctrl-C stops what it started.
//
// Settings come from .env (see .env.example) and the environment. KAFKA_BROKERS points everything at
// an existing cluster instead of the local broker; AUTH_ISSUER_URL at a real Okta org instead of the
// local provider.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, build, database, ensureDependencies, ensureMariaDb, ensureProjectNode, log, startChild, waitForHttp } from './lib/infra.mjs';

if (fs.existsSync(path.join(ROOT, '.env'))) process.loadEnvFile(path.join(ROOT, '.env'));

ensureDependencies();
await ensureProjectNode();
log(`running on Node ${process.version}`);
const { startKafka, stopKafka } = await import('./kafka.mjs');

const port = Number(process.env.PORT ?? 3000);
const oidcPort = Number(process.env.OIDC_PORT ?? 4000);
const env = { ...process.env, DATABASE_URL: process.env.DATABASE_URL ?? 'mariadb://root@127.0.0.1:3306/order_flow' };
const children = [];
let kafkaStartedByUs = false;
let stopping = false;

async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  log('stopping');
  for (const child of children.reverse()) {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          resolve();
        }, 15000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
  if (kafkaStartedByUs) await stopKafka().catch((err) => log(`could not stop Kafka: ${err.message}`));
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

try {
  await ensureMariaDb(env.DATABASE_URL);
  const kafka = await startKafka();
  kafkaStartedByUs = kafka.startedByUs;
  env.KAFKA_BROKERS = kafka.brokers;

  build();
  database('setup', env);

  if (!process.env.AUTH_ISSUER_URL) {
    const issuer = `http://127.0.0.1:${oidcPort}`;
    env.AUTH_ISSUER_URL = issuer;
    env.OIDC_CORS_ORIGINS = env.OIDC_CORS_ORIGINS ?? `http://localhost:${port},http://127.0.0.1:${port}`;
    children.push(startChild('OpenID provider', process.execPath, [path.join(ROOT, 'scripts', 'oidc-provider.mjs')], { ...env, OIDC_PORT: String(oidcPort) }));
    await waitForHttp(`${issuer}/.well-known/openid-configuration`, 30000);
  }

  // A young generation of up to 64 MB instead of V8's 16 MB: under load the service allocates fast and
  // short-lived (messages, SQL, envelopes), and the smaller one scavenged four times as often. At 200
  // orders/s that took minor GC from 0.7 to 0.3 ms of CPU per order; peak RSS did not grow (about
  // 450 MB). NODE_OPTIONS with its own --max-semi-space-size wins.
  const nodeFlags = ['--enable-source-maps', ...(/--max-semi-space-size/.test(process.env.NODE_OPTIONS ?? '') ? [] : ['--max-semi-space-size=64'])];
  // dist/tracing.js first: it starts OpenTelemetry before the app loads when OTEL_* asks for traces (else nothing).
  const service = startChild(
    'service',
    process.execPath,
    [...nodeFlags, '--import', pathToFileURL(path.join(ROOT, 'dist', 'tracing.js')).href, path.join(ROOT, 'dist', 'main.js')],
    env,
  );
  children.push(service);
  service.once('exit', (code) => {
    if (!stopping) void stop(code ?? 1);
  });
  const base = `http://localhost:${port}`;
  await waitForHttp(`${base}/health/live`, 60000);
  console.log(`
  Order Flow is running
    API          ${base}/api
    Swagger UI   ${base}/docs   (Authorize with client order-flow-dev / dev-secret)
    OpenAPI      ${base}/docs-json
    Health       ${base}/health/live   ${base}/health/ready
    Kafka        ${env.KAFKA_BROKERS}      Database  ${new URL(env.DATABASE_URL).host}${new URL(env.DATABASE_URL).pathname}
    Token        TOKEN=$(node scripts/oidc-provider.mjs token)
    Try it       curl -s -H "Authorization: Bearer $TOKEN" ${base}/api/inventory/products
  Ctrl-C stops everything this command started.
`);
} catch (err) {
  console.error(`[order-flow] start failed: ${err.message}`);
  await stop(1);
}
