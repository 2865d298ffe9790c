/** A span of an OTLP export request, as scripts/lib/otlp.mjs reads it. */
export interface ExportedSpan {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  /** SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  /** The instrumentation scope's name. */
  scope: string;
  service?: string;
  attributes: Record<string, string | number | boolean | undefined>;
  links: Array<{ traceId: string; spanId: string }>;
}
export function decodeSpans(body: Buffer, contentType?: string): ExportedSpan[];
export function countSpans(body: Buffer, contentType?: string): number;
