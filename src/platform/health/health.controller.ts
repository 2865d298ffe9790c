import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
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
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: the process answers' })
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
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
