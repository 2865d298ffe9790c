/**
 * Dead letters for operators (docs/architecture.md §10), without the application:
 *
 *   node dist/cli/dlq.js list   [--group G] [--since ISO-TIME] [--json]
 *   node dist/cli/dlq.js replay ID... | --all [--group G] [--since ISO-TIME]
 *
 * `list` reads the DLQ topic to its end and prints each letter: its id (partition@offset in the DLQ),
 * when and by which consumer group it was given up, where it came from, and why. `replay` publishes
 * the chosen letters' original messages again to their origin topics; the consumers' inboxes make a
 * replay of something already processed a no-op. Replay after fixing the cause (a deployment, a
 * missing record), or the message fails and comes back to the DLQ.
 * Kafka settings (brokers, TLS, SASL) come from the same environment and `.env` as the service.
 */
import { parseArgs } from 'node:util';

const { kafkaConfig } = await import('../config/kafka.config.js');
const { HEADER_EVENT_TYPE } = await import('../contracts/envelope.js');
const { createKafka } = await import('../platform/messaging/kafka-client.js');
const { missingDeadLetters, parseDeadLetterIds, readDeadLetters, replayDeadLetters } = await import('../platform/messaging/dead-letters.js');

const USAGE = 'usage: dlq list [--group G] [--since ISO-TIME] [--json] | dlq replay ID... | dlq replay --all [--group G] [--since ISO-TIME]';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    group: { type: 'string' },
    since: { type: 'string' },
    all: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const [command, ...ids] = positionals;
const since = values.since ? new Date(values.since) : undefined;
if (since && Number.isNaN(since.getTime())) fail(`--since: not a time: ${values.since}`);
if (command !== 'list' && command !== 'replay') fail(USAGE);
if (command === 'replay' && !ids.length && !values.all) fail('replay: name the letters (partition@offset, as listed) or pass --all');
if (command === 'replay' && ids.length && values.all) fail('replay: either ids or --all, not both');

const cfg = kafkaConfig();
const kafka = createKafka(cfg, 'dlq-cli');
const filter = { ids: ids.length ? parseIdsOrFail(ids) : undefined, consumerGroup: values.group, since };
const letters = await readDeadLetters(kafka, cfg.topics.dlq, cfg.groupPrefix, filter);

if (command === 'list') {
  if (values.json) console.log(JSON.stringify(letters, null, 2));
  else {
    for (const l of letters) {
      const type = l.headers[HEADER_EVENT_TYPE] ?? '?';
      console.log(
        `${l.id}  ${l.failedAt}  ${l.consumerGroup}  ${l.originTopic}/${l.partition}@${l.offset}  ${type}  key ${l.key ?? '-'}  attempts ${l.attempts}  ${l.reason ?? '-'}  ${l.error}`,
      );
    }
    console.log(`${letters.length} dead letter(s) in ${cfg.topics.dlq}`);
  }
} else {
  const missing = missingDeadLetters(ids, letters);
  if (missing.length) fail(`no dead letter ${missing.join(', ')} in ${cfg.topics.dlq} (see dlq list)`);
  const { replayed } = await replayDeadLetters(kafka, cfg.topics.dlq, letters);
  for (const l of letters) console.log(`${replayed.includes(l.id) ? 'replayed' : 'skipped (no value)'} ${l.id} → ${l.originTopic} (key ${l.key ?? '-'})`);
  console.log(`${replayed.length} of ${letters.length} dead letter(s) replayed`);
}

function parseIdsOrFail(list: string[]): string[] {
  try {
    return parseDeadLetterIds(list);
  } catch (err) {
    return fail((err as Error).message);
  }
}

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}
