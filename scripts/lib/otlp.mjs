// OTLP trace export requests (ExportTraceServiceRequest), as http/protobuf or http/json, read just
// enough to count and list their spans: for scripts/otlp-sink.mjs and the tracing e2e test.
// Protobuf is walked by hand (field numbers of opentelemetry/proto/trace/v1/trace.proto): no dependency.

/** The spans of a request body: ids as lowercase hex, the instrumentation scope's name, links. */
export function decodeSpans(body, contentType = 'application/x-protobuf') {
  return /json/i.test(contentType) ? fromJson(JSON.parse(body.toString('utf8'))) : fromProtobuf(body);
}

/** How many spans a request body holds. */
export function countSpans(body, contentType) {
  return decodeSpans(body, contentType).length;
}

function fromJson(request) {
  const spans = [];
  for (const rs of request.resourceSpans ?? []) {
    const service = (rs.resource?.attributes ?? []).find((a) => a.key === 'service.name')?.value?.stringValue;
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        const attributes = Object.fromEntries((s.attributes ?? []).map((a) => [a.key, jsonValue(a.value)]));
        spans.push({
          traceId: s.traceId.toLowerCase(),
          spanId: s.spanId.toLowerCase(),
          parentSpanId: (s.parentSpanId ?? '').toLowerCase(),
          name: s.name,
          kind: Number(s.kind ?? 0),
          scope: ss.scope?.name ?? '',
          service,
          attributes,
          links: (s.links ?? []).map((l) => ({ traceId: l.traceId.toLowerCase(), spanId: l.spanId.toLowerCase() })),
        });
      }
    }
  }
  return spans;
}

function jsonValue(v = {}) {
  if ('stringValue' in v) return v.stringValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return v.doubleValue;
  if ('boolValue' in v) return v.boolValue;
  return undefined;
}

/** Each field of a protobuf message: [number, wire type, value] (a Buffer for length-delimited ones). */
function* fields(buf) {
  let i = 0;
  const varint = () => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[i++];
      if (b === undefined) throw new Error('truncated protobuf');
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const number = key >>> 3;
    const wire = key & 7;
    if (wire === 0) yield [number, wire, varint()];
    else if (wire === 1) (yield [number, wire, buf.subarray(i, i + 8)], (i += 8));
    else if (wire === 2) {
      const len = Number(varint());
      if (i + len > buf.length) throw new Error('truncated protobuf');
      yield [number, wire, buf.subarray(i, i + len)];
      i += len;
    } else if (wire === 5) (yield [number, wire, buf.subarray(i, i + 4)], (i += 4));
    else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
}

const each = (buf, wanted, fn) => {
  for (const [n, , v] of fields(buf)) if (n === wanted) fn(v);
};

function fromProtobuf(buf) {
  const spans = [];
  each(buf, 1, (resourceSpans) => {
    let service;
    each(resourceSpans, 1, (resource) =>
      each(resource, 1, (kv) => {
        const { key, value } = keyValue(kv);
        if (key === 'service.name') service = value;
      }),
    );
    each(resourceSpans, 2, (scopeSpans) => {
      let scope = '';
      each(scopeSpans, 1, (s) => each(s, 1, (name) => (scope = name.toString('utf8'))));
      each(scopeSpans, 2, (span) => spans.push({ ...spanOf(span), scope, service }));
    });
  });
  return spans;
}

function spanOf(buf) {
  const span = { traceId: '', spanId: '', parentSpanId: '', name: '', kind: 0, attributes: {}, links: [] };
  for (const [n, , v] of fields(buf)) {
    if (n === 1) span.traceId = v.toString('hex');
    else if (n === 2) span.spanId = v.toString('hex');
    else if (n === 4) span.parentSpanId = v.toString('hex');
    else if (n === 5) span.name = v.toString('utf8');
    else if (n === 6) span.kind = Number(v);
    else if (n === 9) {
      const { key, value } = keyValue(v);
      span.attributes[key] = value;
    } else if (n === 13) {
      const link = { traceId: '', spanId: '' };
      for (const [ln, , lv] of fields(v)) {
        if (ln === 1) link.traceId = lv.toString('hex');
        else if (ln === 2) link.spanId = lv.toString('hex');
      }
      span.links.push(link);
    }
  }
  return span;
}

/** A KeyValue whose value is a string, bool, int or double (others are left undefined). */
function keyValue(buf) {
  let key = '';
  let value;
  for (const [n, , v] of fields(buf)) {
    if (n === 1) key = v.toString('utf8');
    else if (n === 2) {
      for (const [an, , av] of fields(v)) {
        if (an === 1) value = av.toString('utf8');
        else if (an === 2) value = av !== 0n;
        else if (an === 3) value = Number(BigInt.asIntN(64, av));
        else if (an === 4) value = av.readDoubleLE(0);
      }
    }
  }
  return { key, value };
}
