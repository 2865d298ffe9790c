import { Injectable, Logger } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { ConsumerRegistryService } from '../messaging/consumer-registry.service.js';
import { OutboxRelayService } from '../messaging/outbox-relay.service.js';
import { ConsumerLagService } from './metrics.consumer-lag.js';
import { PROCESS_METRICS } from './metrics.counters.js';
import { registerEventLoopActive } from './metrics.event-loop.js';
import { registerHeapAfterGc } from './metrics.heap.js';
import { countOrdersInFlight, countOverdueOrders, type Query } from './metrics.order-counts.js';
import { withTimeout } from './metrics.timeout.js';

export const METRICS_PREFIX = 'order_flow_';
/** The longest a scrape waits for one source (database query, Kafka admin): a scrape never fails. */
export const COLLECT_TIMEOUT_MS = 1500;

/**
 * The Prometheus registry of this app (docs/architecture.md §10): prom-client's process and Node
 * metrics under their standard names (no prefix, so stock Node.js dashboards and alerts work), the
 * event loop's busy time, HTTP latency, the histograms and counters observed in process
 * (metrics.counters.ts), and gauges read at scrape time from the database (orders in flight, overdue
 * orders, outbox backlog and age, waiting saga steps), from Kafka (consumer lag) and from the consumer
 * supervision (groups up). Each database read goes through an index and reads only the rows in
 * flight. A source that fails or is slow leaves its gauge empty for that scrape and counts in
 * order_flow_metrics_collect_errors_total.
 */
@Injectable()
export class MetricsService {
  private readonly logger = new Logger(MetricsService.name);
  private readonly registry = new Registry();
  readonly contentType = this.registry.contentType;

  readonly httpDuration = new Histogram({
    name: `${METRICS_PREFIX}http_request_duration_seconds`,
    help: 'HTTP request duration by method, route pattern and status code (its _count is the request count)',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  private readonly collectErrors = new Counter({
    name: `${METRICS_PREFIX}metrics_collect_errors_total`,
    help: 'Scrape-time sources that failed or timed out, by source',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });

  constructor(
    private readonly dataSource: DataSource,
    private readonly lag: ConsumerLagService,
    private readonly relay: OutboxRelayService,
    private readonly consumers: ConsumerRegistryService,
  ) {
    collectDefaultMetrics({ register: this.registry });
    registerEventLoopActive(this.registry, METRICS_PREFIX);
    registerHeapAfterGc(this.registry, METRICS_PREFIX);
    for (const metric of PROCESS_METRICS) this.registry.registerMetric(metric);
    this.registerDatabaseGauges();
    this.registerKafkaGauges();
  }

  /** The whole registry in the Prometheus text format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  private registerDatabaseGauges(): void {
    const query: Query = (sql, params) => this.dataSource.query(sql, params);
    this.gauge('orders', 'Orders in each status an order passes through (0 when none); terminal statuses: order_flow_orders_finished_total', ['status'], async () => {
      return [...(await countOrdersInFlight(query))].map(([status, n]) => [{ status }, n]);
    });
    this.gauge('orders_overdue', 'Orders in flight whose current saga step is past its deadline or backoff', [], async () => [[{}, await countOverdueOrders(query)]]);
    this.gauge('outbox_backlog_messages', 'Messages in the transactional outbox not yet published to Kafka', [], async () => {
      return [[{}, await this.relay.backlog()]];
    });
    this.gauge('outbox_oldest_unpublished_age_seconds', 'Seconds the oldest due, unpublished outbox message has waited (0 when none)', [], async () => {
      return [[{}, await this.relay.oldestDueAgeSeconds()]];
    });
    this.gauge('outbox_parked_messages', 'Outbox messages the broker refused (too large, invalid), set aside for an operator', [], async () => {
      return [[{}, await this.relay.parkedCount()]];
    });
    this.gauge('saga_steps_waiting', 'Saga steps waiting on a reply or a retry, by step and state', ['step', 'state'], async () => {
      const rows: Array<{ step: string; state: string; n: string | number }> = await this.query('SELECT step, state, COUNT(*) AS n FROM saga_steps GROUP BY step, state');
      return rows.map((r) => [{ step: r.step, state: r.state }, Number(r.n)]);
    });
  }

  private registerKafkaGauges(): void {
    this.gauge('kafka_consumer_group_up', 'Whether each consumer group of this process runs: 1 connected, 0 crashed, reconnecting or stopped', ['group'], async () => {
      return Object.entries(this.consumers.snapshot()).map(([group, health]) => [{ group }, health.state === 'connected' ? 1 : 0]);
    });
    this.gauge('kafka_consumer_lag', 'Messages each consumer group of this process still has to read, per topic and partition', ['group', 'topic', 'partition'], async () => {
      const lag = await this.lag.current(COLLECT_TIMEOUT_MS);
      return lag.map((l) => [{ group: l.group, topic: l.topic, partition: String(l.partition) }, l.lag]);
    });
  }

  /**
   * A gauge whose series are replaced at each scrape by what `read` returns. When the source fails
   * or times out it has no series (a gauge without labels reads NaN) rather than stale numbers.
   */
  private gauge<L extends string>(name: string, help: string, labelNames: L[], read: () => Promise<Array<[Partial<Record<L, string>>, number]>>): void {
    const failed = (err: Error) => {
      this.collectErrors.inc({ source: name });
      this.logger.warn(`metrics source ${name} unavailable: ${err.message}`);
    };
    new Gauge<L>({
      name: `${METRICS_PREFIX}${name}`,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        try {
          const values = await withTimeout(read(), COLLECT_TIMEOUT_MS, name);
          this.reset();
          for (const [labels, value] of values) this.set(labels, value);
        } catch (err) {
          this.reset();
          if (!labelNames.length) this.set(Number.NaN);
          failed(err as Error);
        }
      },
    });
  }

  private query<T>(sql: string): Promise<T> {
    return this.dataSource.query(sql);
  }
}
