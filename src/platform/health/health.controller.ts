import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Public } from '../auth/scopes.decorator.js';
import { ConsumerRegistryService } from '../messaging/consumer-registry.service.js';
import { TopicAdminService } from '../messaging/topic-admin.service.js';

/** Kubernetes probes: liveness checks the process only, readiness its database and Kafka. */
@ApiTags('health')
@Controller('health')
@Public()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly topics: TopicAdminService,
    private readonly consumers: ConsumerRegistryService,
  ) {}

  @Get('live')
  // Documented here rather than by terminus, whose generated schema depends on how it was loaded.
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOkResponse({ description: 'The process answers', schema: { example: { status: 'ok', info: {}, error: {}, details: {} } } })
  @ApiOperation({ summary: 'Liveness: the process answers' })
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOkResponse({
    description: 'Ready for traffic',
    schema: { example: { status: 'ok', info: { database: { status: 'up' }, kafka: { status: 'up', consumers: { 'order-flow-process': 'connected' } } }, error: {}, details: {} } },
  })
  @ApiServiceUnavailableResponse({
    description: 'A dependency is down: the failing check says which and why',
    schema: {
      example: { status: 'error', info: { database: { status: 'up' } }, error: { kafka: { status: 'down', message: 'no answer from Kafka within 2000 ms' } }, details: {} },
    },
  })
  @ApiOperation({ summary: 'Readiness: the database answers, Kafka answers and every consumer group runs' })
  ready() {
    return this.health.check([() => this.db.pingCheck('database', { timeout: 2000 }), () => this.kafka()]);
  }

  private async kafka() {
    const session = this.indicators.check('kafka');
    try {
      await this.topics.ping();
    } catch (err) {
      return session.down({ message: (err as Error).message });
    }
    const consumers = this.consumers.snapshot();
    const stopped = this.consumers.notRunning();
    return stopped.length ? session.down({ consumers, message: `not consuming: ${stopped.join(', ')}` }) : session.up({ consumers });
  }
}
