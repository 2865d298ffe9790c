#!/usr/bin/env node
// A tiny OTLP/HTTP trace receiver for benchmarking with tracing on: accepts POST /v1/traces
// (http/protobuf or http/json, gzip or not), answers 200, counts the spans and throws them away.
// Prints the count every 10 s and on SIGINT/SIGTERM.
//
//   node scripts/otlp-sink.mjs [port]        (default 4318, on 127.0.0.1; OTLP_SINK_PORT also works)
//
// Then run the service with OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 (README, Operations).
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { countSpans } from './lib/otlp.mjs';

const port = Number(process.argv[2] ?? process.env.OTLP_SINK_PORT ?? 4318);
let spans = 0;
let requests = 0;
let errors = 0;

const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/v1/traces') {
    res.writeHead(404).end();
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    try {
      let body = Buffer.concat(chunks);
      if (/gzip/i.test(req.headers['content-encoding'] ?? '')) body = gunzipSync(body);
      spans += countSpans(body, req.headers['content-type'] ?? '');
      requests += 1;
      // An empty ExportTraceServiceResponse: `{}` as JSON, zero bytes as protobuf.
      const json = /json/i.test(req.headers['content-type'] ?? '');
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' }).end(json ? '{}' : undefined);
    } catch (err) {
      errors += 1;
      res.writeHead(400, { 'content-type': 'text/plain' }).end(String(err.message));
    }
  });
});

const report = () => `[otlp-sink] ${spans} spans in ${requests} requests${errors ? `, ${errors} unreadable` : ''}`;
server.listen(port, '127.0.0.1', () => console.log(`[otlp-sink] listening on http://127.0.0.1:${port}/v1/traces`));
setInterval(() => console.log(report()), 10000).unref();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.log(report());
    server.close();
    process.exit(0);
  });
}
