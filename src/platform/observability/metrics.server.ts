import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { appConfig } from '../../config/app.config.js';
import { MetricsService } from './metrics.service.js';

/**
 * `GET /metrics` on a port of its own (METRICS_PORT), for Prometheus inside the cluster, while the
 * API port, which the ingress exposes, serves no metrics. Nothing else is served here: no auth, no
 * API middleware, no access log.
 */
@Injectable()
export class MetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(MetricsServer.name);
  private server: Server | null = null;

  constructor(
    private readonly metrics: MetricsService,
    @Inject(appConfig.KEY) private readonly cfg: ConfigType<typeof appConfig>,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.cfg.metricsPort, this.cfg.host, () => resolve());
    });
    server.on('error', (err) => this.logger.error(`metrics server: ${err.message}`));
    this.server = server;
    this.logger.log(`/metrics served on port ${this.port}`);
  }

  /** The port it listens on: METRICS_PORT, or the one the system picked for 0. */
  get port(): number | null {
    const address = this.server?.address();
    return address && typeof address === 'object' ? address.port : null;
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Prometheus keeps its connection alive between scrapes: close it rather than wait for it.
    server.closeAllConnections();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not Found\n');
      return;
    }
    try {
      const body = await this.metrics.render();
      res.writeHead(200, { 'Content-Type': this.metrics.contentType, 'Cache-Control': 'no-store' }).end(body);
    } catch (err) {
      this.logger.error(`metrics scrape failed: ${(err as Error).message}`);
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end('Internal Server Error\n');
    }
  }
}
