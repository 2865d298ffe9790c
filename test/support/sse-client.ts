import http from 'node:http';

export interface SseEvent {
  id?: string;
  event: string;
  data: any;
}

/** An open server-sent event stream, parsed as the spec (html.spec.whatwg.org, "event stream interpretation") reads it. */
export interface SseStream {
  status: number;
  headers: http.IncomingHttpHeaders;
  events: SseEvent[];
  comments: string[];
  retry?: number;
  /** The body of a non-2xx answer (problem+json). */
  body: string;
  ended: boolean;
  close(): void;
}

/** Opens `url` with `headers` and parses its events as they come; resolves once the headers are in. */
export function openSse(url: string, headers: Record<string, string>): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { Accept: 'text/event-stream', ...headers } }, (res) => {
      const stream: SseStream = { status: res.statusCode ?? 0, headers: res.headers, events: [], comments: [], body: '', ended: false, close: () => req.destroy() };
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (stream.status !== 200) return void (stream.body += chunk);
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          readBlock(stream, buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      });
      res.on('end', () => (stream.ended = true));
      res.on('close', () => (stream.ended = true));
      resolve(stream);
    });
    req.on('error', reject);
  });
}

/** One event block: its fields, a comment, or `retry:`. */
function readBlock(stream: SseStream, block: string): void {
  const event: { id?: string; event: string; data: string[] } = { event: 'message', data: [] };
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) {
      stream.comments.push(line.slice(1).trim());
      continue;
    }
    const colon = line.indexOf(':');
    const [field, value] = colon < 0 ? [line, ''] : [line.slice(0, colon), line.slice(colon + 1).replace(/^ /, '')];
    if (field === 'id') event.id = value;
    else if (field === 'event') event.event = value;
    else if (field === 'data') event.data.push(value);
    else if (field === 'retry') stream.retry = Number(value);
  }
  if (event.data.length) stream.events.push({ id: event.id, event: event.event, data: JSON.parse(event.data.join('\n')) });
}
