import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { Response } from 'express';
import { orderEventsConfig } from '../../../config/order-events.config.js';
import { OrderEventRepository, type OrderEvent } from '../../../order-store/order-event.repository.js';
import { endsStream, OrderStream } from './order-stream.js';

/** The open streams of one order, and its delivery run (one at a time, so events go out in order). */
interface Channel {
  streams: Set<OrderStream>;
  running: boolean;
  /** Another notification came while delivering: deliver again once done. */
  again: boolean;
  /** Notifications seen, so that an opening stream knows whether one came while it read the log. */
  notified: number;
  /** Streams being opened (they keep the channel while they read the log). */
  opening: number;
}

export class TooManyStreamsError extends Error {}

/**
 * A shipment's progress is announced on shipping-updates before the saga has written it to the log (it
 * reads the same message): orders so announced are read again on this shared tick, a few times, so that
 * their event goes out soon after the saga's commit rather than at the next safety poll.
 */
const FOLLOW_UP_TICK_MS = 250;
const FOLLOW_UP_TICKS = 8;

/**
 * Every open event stream of this process (docs/order-events.md, ADR 0010), by order. The database's
 * event log is the source of truth; `notify` (from the Kafka notifier, for a change made by any
 * replica) and a slow safety poll (one query for every order with open streams) make the streams read
 * it after their last seq. One shared timer sends the heartbeats: no per-stream timers or polling.
 */
@Injectable()
export class OrderStreamsService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(OrderStreamsService.name);
  private readonly channels = new Map<string, Channel>();
  /** Every stream opened and not yet closed (its size is capped by SSE_MAX_STREAMS). */
  private readonly live = new Set<OrderStream>();
  private closing = false;
  private timers: NodeJS.Timeout[] = [];
  /** Orders to read again on the next follow-up ticks, with how many ticks remain. */
  private readonly followUps = new Map<string, number>();
  private demandListener: (wanted: boolean) => void = () => undefined;

  constructor(
    private readonly events: OrderEventRepository,
    @Inject(orderEventsConfig.KEY) private readonly cfg: ConfigType<typeof orderEventsConfig>,
  ) {}

  onModuleInit(): void {
    this.timers = [
      setInterval(() => this.heartbeat(), this.cfg.heartbeatMs),
      setInterval(() => void this.poll(), this.cfg.pollMs),
      setInterval(() => this.followUp(), FOLLOW_UP_TICK_MS),
    ];
    for (const timer of this.timers) timer.unref();
  }

  /** Ends every stream, so the HTTP server can close and the process exit. */
  onModuleDestroy(): void {
    this.closing = true;
    for (const timer of this.timers) clearInterval(timer);
    for (const stream of this.live) stream.end();
  }

  /** `listener(true)` when a stream opens while none is open, `listener(false)` when the last one closes. */
  onDemand(listener: (wanted: boolean) => void): void {
    this.demandListener = listener;
  }

  /**
   * Starts `res` as the stream of an order the caller may see: after `lastEventId` every later event,
   * else the current status (and the shipment's, if any); then live events until the order is final.
   * Throws TooManyStreamsError when this process holds its maximum.
   */
  async open(orderId: string, res: Response, lastEventId: number | undefined): Promise<void> {
    if (this.closing || this.live.size >= this.cfg.maxStreams) throw new TooManyStreamsError();
    const stream = new OrderStream(orderId, res, lastEventId ?? 0);
    this.live.add(stream);
    if (this.live.size === 1) this.demandListener(true);
    res.on('close', () => this.remove(stream));
    const channel = this.channel(orderId);
    channel.opening += 1;
    const seen = channel.notified;
    try {
      // The whole log (a few rows): whether the order is final may lie before Last-Event-ID.
      const log = await this.events.findAfter(orderId, 0);
      if (!stream.open) return;
      stream.start(this.cfg.retryMs);
      if (this.sendFirst(stream, log, lastEventId === undefined) || this.closing) return stream.end();
      channel.streams.add(stream);
      if (channel.notified !== seen) void this.pump(orderId);
    } catch (err) {
      this.forget(stream);
      throw err;
    } finally {
      channel.opening -= 1;
      this.dropIfIdle(orderId);
    }
  }

  /**
   * An event of `orderId` may have been written (by any replica): its streams read the log. `soon`: it
   * is about to be written (by the saga, which reads the same message): they read it again on the next
   * few follow-up ticks too.
   */
  notify(orderId: string, soon = false): void {
    const channel = this.channels.get(orderId);
    if (!channel) return;
    channel.notified += 1;
    if (soon) this.followUps.set(orderId, FOLLOW_UP_TICKS);
    if (channel.streams.size) void this.pump(orderId);
  }

  private followUp(): void {
    for (const [orderId, ticks] of this.followUps) {
      if (ticks <= 1 || !this.channels.has(orderId)) this.followUps.delete(orderId);
      else this.followUps.set(orderId, ticks - 1);
      void this.pump(orderId);
    }
  }

  /** What a new stream sends first; true when the order is already final (the stream then ends). */
  private sendFirst(stream: OrderStream, log: OrderEvent[], snapshot: boolean): boolean {
    const final = log.some(endsStream);
    const last = log.at(-1)?.seq ?? 0;
    const first = snapshot ? latestOfEachKind(log) : log;
    stream.send(first);
    stream.skipTo(last);
    if (final) stream.end();
    return !stream.open;
  }

  private remove(stream: OrderStream): void {
    this.forget(stream);
    this.channels.get(stream.orderId)?.streams.delete(stream);
    this.dropIfIdle(stream.orderId);
  }

  private forget(stream: OrderStream): void {
    if (this.live.delete(stream) && !this.live.size) this.demandListener(false);
  }

  private channel(orderId: string): Channel {
    let channel = this.channels.get(orderId);
    if (!channel) this.channels.set(orderId, (channel = { streams: new Set(), running: false, again: false, notified: 0, opening: 0 }));
    return channel;
  }

  private dropIfIdle(orderId: string): void {
    const channel = this.channels.get(orderId);
    if (channel && !channel.streams.size && !channel.opening && !channel.running) this.channels.delete(orderId);
  }

  /** Delivers the order's new events to its streams, one run at a time (a notification meanwhile runs it again). */
  private async pump(orderId: string): Promise<void> {
    const channel = this.channels.get(orderId);
    if (!channel) return;
    if (channel.running) {
      channel.again = true;
      return;
    }
    channel.running = true;
    try {
      do {
        channel.again = false;
        await this.deliver(channel, orderId);
      } while (channel.again && channel.streams.size);
    } catch (err) {
      // The safety poll tries again.
      this.logger.warn(`events of order ${orderId} not delivered: ${(err as Error).message}`);
    } finally {
      channel.running = false;
      this.dropIfIdle(orderId);
    }
  }

  private async deliver(channel: Channel, orderId: string): Promise<void> {
    if (!channel.streams.size) return;
    const after = Math.min(...[...channel.streams].map((s) => s.lastSeq));
    const events = await this.events.findAfter(orderId, after);
    for (const stream of channel.streams) stream.send(events);
  }

  private heartbeat(): void {
    for (const channel of this.channels.values()) for (const stream of channel.streams) stream.heartbeat();
  }

  /**
   * The safety net for lost or early notifications, and what keeps streams going while no notifier is
   * joined: one query for the last seq of every order with streams; the streams behind read their logs.
   */
  async poll(): Promise<void> {
    if (!this.channels.size) return;
    try {
      const lastSeqs = await this.events.lastSeqs([...this.channels.keys()]);
      for (const [orderId, seq] of lastSeqs) {
        const streams = this.channels.get(orderId)?.streams ?? new Set<OrderStream>();
        if ([...streams].some((s) => s.lastSeq < seq)) void this.pump(orderId);
      }
    } catch (err) {
      this.logger.warn(`safety poll failed: ${(err as Error).message}`);
    }
  }
}

/** The order's current status event and, if it has a shipment, its latest fulfillment event, in seq order. */
function latestOfEachKind(log: readonly OrderEvent[]): OrderEvent[] {
  const latest = new Map<string, OrderEvent>();
  for (const event of log) latest.set(event.kind, event);
  return [...latest.values()].sort((a, b) => a.seq - b.seq);
}
