/**
 * The system's invariants I1–I7 (docs/architecture.md §7.8) checked on a running or stopped deployment:
 *
 *   node dist/cli/check-invariants.js [--orders ID,ID… | --orders-file FILE] [--since ISO-TIME] [--stock]
 *       [--baseline FILE] [--wait-s N] [--allow-dlq N | --skip-dlq] [--metrics-url URL]… [--json]
 *   node dist/cli/check-invariants.js --write-baseline FILE
 *
 * Prints every violation with the orders involved and a summary line. Exit 0: clean; 1: any
 * violation; 2: something could not be checked (database or Kafka unreachable, bad arguments).
 * DATABASE_URL and the Kafka settings come from the same environment and `.env` as the service.
 */
import 'reflect-metadata';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const USAGE = `usage: check-invariants [--orders ID,ID… | --orders-file FILE] [--since ISO-TIME] [--stock] [--baseline FILE]
                        [--wait-s N] [--allow-dlq N | --skip-dlq] [--metrics-url URL]… [--json]
       check-invariants --write-baseline FILE`;

let values: ReturnType<typeof parse>['values'];
function parse() {
  return parseArgs({
    options: {
      orders: { type: 'string', multiple: true },
      'orders-file': { type: 'string' },
      since: { type: 'string' },
      stock: { type: 'boolean', default: false },
      baseline: { type: 'string' },
      'write-baseline': { type: 'string' },
      'wait-s': { type: 'string' },
      'allow-dlq': { type: 'string' },
      'skip-dlq': { type: 'boolean', default: false },
      'metrics-url': { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
}
try {
  ({ values } = parse());
} catch (err) {
  fail(`${(err as Error).message}\n${USAGE}`);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const orderIds = readOrderIds();
const since = values.since === undefined ? undefined : new Date(values.since);
if (since && Number.isNaN(since.getTime())) fail(`--since: not a time: ${values.since}`);
const waitS = count('wait-s');
const allowDlq = count('allow-dlq');
if (values['skip-dlq'] && allowDlq !== undefined) fail('--allow-dlq and --skip-dlq exclude each other');
for (const url of values['metrics-url'] ?? []) if (!URL.canParse(url)) fail(`--metrics-url: not a URL: ${url}`);
const baseline = values.baseline ? readBaseline(values.baseline) : undefined;

const { Kafka, logLevel } = await import('kafkajs');
const { DataSource } = await import('typeorm');
const { databaseConfig } = await import('../config/database.config.js');
const { kafkaConfig } = await import('../config/kafka.config.js');
const { buildDataSourceOptions } = await import('../platform/database/database-options.js');
const { kafkaClientOptions } = await import('../platform/messaging/kafka-client.js');
const { takeStockBaseline } = await import('../platform/invariants/database.checks.js');
const { checkInvariants, exitCodeOf } = await import('../platform/invariants/invariant-checker.js');
const { INVARIANT_TITLES } = await import('../platform/invariants/invariants.js');

const db = databaseConfig();
const dataSource = new DataSource({ ...buildDataSourceOptions({ ...db, poolSize: 2 }), logging: ['error'] });
try {
  await dataSource.initialize();
} catch (err) {
  fail(`could not check: database ${db.host}:${db.port}/${db.database} unreachable: ${(err as Error).message}`);
}

try {
  if (values['write-baseline']) {
    const snapshot = await takeStockBaseline(dataSource);
    writeFileSync(values['write-baseline'], `${JSON.stringify(snapshot, null, 2)}\n`);
    console.log(`stock baseline of ${Object.keys(snapshot.products).length} product(s) written to ${values['write-baseline']}`);
    process.exitCode = 0;
  } else {
    const kafkaCfg = kafkaConfig();
    // Few retries: an unreachable broker is reported (could not check) in seconds, not minutes.
    const kafka = new Kafka({ ...kafkaClientOptions(kafkaCfg, 'invariants'), logLevel: logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1000 } });
    const report = await checkInvariants(dataSource, {
      orderIds,
      since,
      stock: values.stock,
      baseline,
      waitS,
      dlq: values['skip-dlq'] ? undefined : { kafka, topic: kafkaCfg.topics.dlq, allow: allowDlq, groupPrefix: kafkaCfg.groupPrefix },
      metricsUrls: values['metrics-url'],
    });
    const exitCode = exitCodeOf(report);
    if (values.json) console.log(JSON.stringify({ ...report, exitCode }, null, 2));
    else {
      for (const v of report.violations) {
        const products = v.productIds?.length && !v.detail.startsWith(v.productIds[0]) ? `  products: ${v.productIds.join(', ')}` : '';
        console.log(`${v.invariant}  ${v.detail}${v.orderIds.length ? `  orders: ${v.orderIds.join(', ')}` : ''}${products}`);
      }
      for (const n of report.notChecked) console.log(`${n.invariant}  ${n.failed ? 'COULD NOT CHECK' : 'not checked'} (${INVARIANT_TITLES[n.invariant]}): ${n.reason}`);
      const byInvariant = Object.entries(report.violations.reduce<Record<string, number>>((acc, v) => ({ ...acc, [v.invariant]: (acc[v.invariant] ?? 0) + 1 }), {})).map(
        ([i, n]) => `${i} ${n}`,
      );
      const seconds = (report.elapsedMs / 1000).toFixed(1);
      const waited =
        waitS === undefined
          ? `${seconds} s`
          : report.violations.length
            ? `still violated after ${seconds} s of waiting (${report.rounds} rounds)`
            : `clean after ${seconds} s (${report.rounds} round(s))`;
      const scope = orderIds ? `${report.orders} of ${orderIds.length} named order(s)` : `${report.orders} order(s)${since ? ` since ${since.toISOString()}` : ''}`;
      console.log(
        `invariants: ${report.violations.length} violation(s)${byInvariant.length ? ` (${byInvariant.join(', ')})` : ''} in ${scope}; ` +
          `checked ${report.checked.join(' ') || 'nothing'}${report.notChecked.length ? `; not checked ${report.notChecked.map((n) => n.invariant).join(' ')}` : ''}; ${waited}`,
      );
    }
    process.exitCode = exitCode;
  }
} catch (err) {
  console.error(`could not check: ${(err as Error).message}`);
  process.exitCode = 2;
} finally {
  await dataSource.destroy().catch(() => undefined);
}

function readOrderIds(): string[] | undefined {
  const given = [...(values.orders ?? [])];
  if (values['orders-file']) {
    try {
      given.push(readFileSync(values['orders-file'], 'utf8'));
    } catch (err) {
      fail(`--orders-file: ${(err as Error).message}`);
    }
  }
  if (!values.orders && !values['orders-file']) return undefined;
  // Commas, whitespace or a JSON array of strings: split on anything that cannot be in an order id.
  const ids = given.flatMap((s) => s.split(/[^A-Za-z0-9-]+/)).filter(Boolean);
  for (const id of ids) if (!/^[0-9a-fA-F-]{36}$/.test(id)) fail(`not an order id: ${id}`);
  if (!ids.length) fail('--orders: no order id given');
  return ids;
}

function count(name: 'wait-s' | 'allow-dlq'): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) fail(`--${name}: not a whole number: ${raw}`);
  return Number(raw);
}

function readBaseline(file: string) {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8'));
    if (!parsed || typeof parsed.products !== 'object') throw new Error('no "products" object');
    for (const [id, p] of Object.entries<any>(parsed.products)) {
      if (!Number.isInteger(p?.stockOnHand)) throw new Error(`product ${id}: stockOnHand is not an integer`);
    }
    return parsed as { takenAt: string; products: Record<string, { stockOnHand: number; committed?: number; shipped?: number }> };
  } catch (err) {
    return fail(`--baseline ${file}: ${(err as Error).message}`);
  }
}

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}
