import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Public } from '../auth/scopes.decorator.js';
import { ConsumerRegistryService } from '../messaging/consumer-registry.service.js';
import { OutboxRelayService } from '../messaging/outbox-relay.service.js';

const GROUP_EXAMPLE = { state: 'connected', since: '2026-01-05T09:30:00.000Z', lastError: null, restarts: 0 };
const RELAY_EXAMPLE = { status: 'up', state: 'running', failedPasses: 0, lastPublishedAt: '2026-01-05T09:41:12.345Z', lastError: null };

/**
 * Kubernetes probes. Readiness: this process can serve HTTP (the database answers); Kafka is not
 * asked, because intake goes through the outbox while the broker is away. Liveness: fails only when
 * the process cannot recover by itself, a consumer group that could not run for CONSUMER_DEAD_AFTER_S.
 */
@ApiTags('health')
@Controller('health')
@Public()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly consumers: ConsumerRegistryService,
    private readonly relay: OutboxRelayService,
  ) {}

  @Get('live')
  // Documented here rather than by terminus, whose generated schema depends on how it was loaded.
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOkResponse({
    description: 'The process runs, and every consumer group has run within CONSUMER_DEAD_AFTER_S',
    schema: { example: { status: 'ok', info: { consumers: { status: 'up' } }, error: {}, details: { consumers: { status: 'up' } } } },
  })
  @ApiServiceUnavailableResponse({
    description: 'A consumer group could not run for CONSUMER_DEAD_AFTER_S: restart the process',
    schema: {
      example: {
        status: 'error',
        info: {},
        error: {
          consumers: {
            status: 'down',
            message: 'not running for more than 60 s: order-flow-payment',
            groups: {
              'order-flow-payment': {
                ...GROUP_EXAMPLE,
                state: 'reconnecting',
                lastError: 'KafkaJSNumberOfRetriesExceeded: Connection error: connect ECONNREFUSED 127.0.0.1:9092',
                restarts: 7,
              },
            },
          },
        },
        details: {},
      },
    },
  })
  @ApiOperation({ summary: 'Liveness: fails only when a consumer group could not run for CONSUMER_DEAD_AFTER_S' })
  live() {
    return this.health.check([() => this.consumersAlive()]);
  }

  @Get('ready')
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOkResponse({
    description: 'Ready for traffic; the body shows each consumer group and the outbox relay, whatever their state',
    schema: {
      example: {
        status: 'ok',
        info: { database: { status: 'up' }, consumers: { status: 'up', groups: { 'order-flow-process': GROUP_EXAMPLE } }, relay: RELAY_EXAMPLE },
        error: {},
        details: {},
      },
    },
  })
  @ApiServiceUnavailableResponse({
    description: 'The database does not answer within 2 s (or the process is shutting down)',
    schema: {
      example: {
        status: 'error',
        info: { consumers: { status: 'up', groups: {} }, relay: RELAY_EXAMPLE },
        error: { database: { status: 'down', message: 'timeout of 2000ms exceeded' } },
        details: {},
      },
    },
  })
  @ApiOperation({ summary: 'Readiness: the database answers (Kafka is not required)' })
  ready() {
    return this.health.check([() => this.db.pingCheck('database', { timeout: 2000 }), () => this.consumersState(), () => this.relayState()]);
  }

  private consumersAlive() {
    const session = this.indicators.check('consumers');
    const dead = this.consumers.dead();
    if (!dead.length) return session.up();
    const groups = this.consumers.snapshot();
    return session.down({
      message: `not running for more than ${this.consumers.deadAfterMs / 1000} s: ${dead.join(', ')}`,
      groups: Object.fromEntries(dead.map((g) => [g, groups[g]])),
    });
  }

  /** Shown, never failing: a group that is reconnecting does not stop this process serving HTTP. */
  private consumersState() {
    return this.indicators.check('consumers').up({ groups: this.consumers.snapshot() });
  }

  private relayState() {
    return this.indicators.check('relay').up({ ...this.relay.health() });
  }
}
