import 'reflect-metadata';
import type { ArgumentMetadata } from '@nestjs/common';
import net from 'node:net';
import { generateRequests } from '../../../scripts/chaos/bodies.mjs';
import { TcpProxy } from '../../../scripts/chaos/proxy.mjs';
import { checkOutboxOrder, type OutboxLogRow } from '../../../scripts/chaos/topics.mjs';
import { CreateOrderRequestDto } from '../../../src/experience/orders/dto/create-order.request.dto.js';
import { createValidationPipe } from '../../../src/platform/http/validation.js';
import { eventually } from '../../support/eventually.js';
import { freePort } from '../../support/free-port.js';

/** The chaos suite's own tools (scripts/chaos): what its verdicts rest on. */
describe('the outbox order check of C10', () => {
  const row = (id: number, event: string, availableAt: string, topic = 't', key = 'order-1'): OutboxLogRow => ({
    id,
    topic,
    message_key: key,
    event_id: event,
    available_at: availableAt,
  });
  const kafka = (events: string[], topic = 't', key = 'order-1') => new Map([[topic, new Map([[key, events]])]]);
  const t0 = '2026-12-01T10:00:00.000Z';
  const t1 = '2026-12-01T10:00:01.000Z';

  it('accepts messages on the topic in outbox order, and a later copy of one (a redelivery)', () => {
    const result = checkOutboxOrder([row(1, 'a', t0), row(2, 'b', t0), row(3, 'c', t1)], kafka(['a', 'b', 'a', 'c']));
    expect(result).toEqual({ pairs: 3, violations: [], missing: 0 });
  });

  it('finds a message that overtook an earlier one that was due no later', () => {
    const result = checkOutboxOrder([row(1, 'a', t0), row(2, 'b', t1)], kafka(['b', 'a']));
    expect(result.violations).toEqual([{ topic: 't', key: 'order-1', first: 'a', second: 'b' }]);
  });

  it('lets a message due earlier pass one written before it but due later (the simulated latency)', () => {
    expect(checkOutboxOrder([row(1, 'a', t1), row(2, 'b', t0)], kafka(['b', 'a'])).violations).toEqual([]);
  });

  it('counts a row that never reached the topic, and compares each key on its own', () => {
    const onKafka = new Map([
      [
        't',
        new Map([
          ['order-1', ['a']],
          ['order-2', ['y', 'x']],
        ]),
      ],
    ]);
    const result = checkOutboxOrder([row(1, 'a', t0), row(2, 'b', t0), row(3, 'x', t0, 't', 'order-2'), row(4, 'y', t1, 't', 'order-2')], onKafka);
    expect(result.missing).toBe(1);
    expect(result.violations).toEqual([{ topic: 't', key: 'order-2', first: 'x', second: 'y' }]);
  });
});

describe('the TCP proxy of C6', () => {
  let echo: net.Server;
  let proxy: TcpProxy;
  let port: number;

  beforeAll(async () => {
    echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    port = await freePort();
    proxy = await new TcpProxy({ name: 'echo', listenPort: port, targetPort: (echo.address() as net.AddressInfo).port }).listen();
  });
  afterAll(async () => {
    await proxy.close();
    await new Promise((resolve) => echo.close(resolve));
  });

  const connect = async () => {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise((resolve) => socket.once('connect', resolve));
    const received: string[] = [];
    socket.on('data', (d) => received.push(d.toString()));
    return { socket, received, text: () => received.join('') };
  };

  it('passes data both ways, holds it while cut without closing anything, and delivers it once healed', async () => {
    const before = await connect();
    before.socket.write('one');
    await eventually(
      () => before.text(),
      (t) => t === 'one',
      { what: 'the echo through the proxy' },
    );

    proxy.cut();
    let closed = false;
    before.socket.once('close', () => (closed = true));
    before.socket.write('two');
    const during = await connect(); // accepted, as a partition would not refuse it either
    during.socket.write('three');
    // Nothing may pass during the cut: give the echo a moment to show that nothing does.
    await new Promise((r) => setTimeout(r, 300));
    expect([before.text(), during.text(), closed]).toEqual(['one', '', false]);

    proxy.heal();
    await eventually(
      () => [before.text(), during.text()],
      ([a, b]) => a === 'onetwo' && b === 'three',
      { what: 'the held data after the heal' },
    );
    before.socket.destroy();
    during.socket.destroy();
  });
});

describe('the generated request bodies of C11', () => {
  const pipe = createValidationPipe();
  const meta: ArgumentMetadata = { type: 'body', metatype: CreateOrderRequestDto };

  it('are reproducible from their seed and about a third valid', () => {
    const a = generateRequests(300, 7);
    expect(generateRequests(300, 7)).toEqual(a);
    expect(generateRequests(300, 8)).not.toEqual(a);
    const valid = a.filter((r) => r.valid).length;
    expect(valid).toBeGreaterThan(60);
    expect(valid).toBeLessThan(140);
  });

  it('marks valid only bodies the API validation accepts, so "every valid body accepted" means what it says', async () => {
    for (const r of generateRequests(500, 42).filter((x) => x.valid)) {
      await expect(pipe.transform(JSON.parse(r.body), meta)).resolves.toBeInstanceOf(CreateOrderRequestDto);
    }
  });
});
