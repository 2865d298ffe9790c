import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { Kafka } from 'kafkajs';
import { kafkaConfig } from '../../config/kafka.config.js';
import { HEADER_EVENT_TYPE } from '../../contracts/envelope.js';
import { missingDeadLetters, readDeadLetters, replayDeadLetters, type DeadLetterFilter, type StoredDeadLetter } from '../../platform/messaging/dead-letters.js';
import { KAFKA } from '../../platform/messaging/messaging.tokens.js';
import type { DeadLetterDto } from './dto/dead-letter.dto.js';
import { DeadLettersErrorCode, DeadLettersException } from './dead-letters.exception.js';

/** What to replay: named letters, or every letter that passes the filter. */
export type ReplaySelection = { ids: string[] } | { all: true; consumerGroup?: string; since?: Date };

/**
 * The operator routes' work (docs/architecture.md §10: operators reprocess dead letters), the same as `npm run dlq`:
 * reading the DLQ topic to its end with a throw-away consumer group that commits nothing, and
 * publishing letters again to their origin topics, where the consumers' inboxes make a repeat a no-op.
 */
@Injectable()
export class DeadLettersService {
  private readonly logger = new Logger(DeadLettersService.name);
  /** One DLQ operation at a time per process: each read joins a consumer group of its own. */
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(kafkaConfig.KEY) private readonly cfg: ConfigType<typeof kafkaConfig>,
  ) {}

  list(filter: DeadLetterFilter): Promise<DeadLetterDto[]> {
    return this.exclusive(async () => (await this.read(filter)).map(toDto));
  }

  /** Replays the selection; named letters that are not in the DLQ fail the whole call before anything is sent. */
  replay(selection: ReplaySelection, operator: string): Promise<{ replayed: string[]; skipped: string[] }> {
    return this.exclusive(async () => {
      const letters = await this.read('ids' in selection ? { ids: selection.ids } : { consumerGroup: selection.consumerGroup, since: selection.since });
      if ('ids' in selection) {
        const missing = missingDeadLetters(selection.ids, letters);
        if (missing.length) throw new DeadLettersException(DeadLettersErrorCode.NOT_FOUND, `no dead letter ${missing.join(', ')} in ${this.cfg.topics.dlq}`);
      }
      const { replayed, skipped } = await this.kafkaCall('publish the letters again', () => replayDeadLetters(this.kafka, this.cfg.topics.dlq, letters));
      // An operator's action on the message flow: who, and what, in the log.
      this.logger.log(
        `${operator} replayed ${replayed.length} dead letter(s) from ${this.cfg.topics.dlq}: ${replayed.join(' ') || '-'}${skipped.length ? `; skipped (no value): ${skipped.join(' ')}` : ''}`,
      );
      return { replayed, skipped };
    });
  }

  private read(filter: DeadLetterFilter): Promise<StoredDeadLetter[]> {
    return this.kafkaCall(`read ${this.cfg.topics.dlq}`, () => readDeadLetters(this.kafka, this.cfg.topics.dlq, this.cfg.groupPrefix, filter));
  }

  /** A broker that is down, or refuses this principal, is a 503 with Kafka's reason, never a 500. */
  private async kafkaCall<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      throw new DeadLettersException(DeadLettersErrorCode.KAFKA_UNAVAILABLE, `could not ${what}: ${(err as Error).message}`);
    }
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.running.then(work, work);
    this.running = next.catch(() => undefined);
    return next;
  }
}

function toDto(l: StoredDeadLetter): DeadLetterDto {
  const eventType = l.headers?.[HEADER_EVENT_TYPE];
  return {
    id: l.id,
    failedAt: l.failedAt,
    consumerGroup: l.consumerGroup,
    originTopic: l.originTopic,
    partition: l.partition,
    offset: l.offset,
    ...(eventType ? { eventType } : {}),
    key: l.key,
    attempts: l.attempts,
    ...(l.reason ? { reason: l.reason } : {}),
    error: l.error,
    headers: l.headers ?? {},
    value: l.value,
  };
}
