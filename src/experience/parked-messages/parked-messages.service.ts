import { Injectable, Logger } from '@nestjs/common';
import { OutboxService } from '../../platform/messaging/outbox.service.js';
import { OUTBOX_ID, ParkedMessagesRepository, type ParkedMessage } from '../../platform/messaging/parked-messages.repository.js';
import type { ParkedMessageDto, ParkedMessageListResponseDto } from './dto/parked-message.dto.js';
import { ParkedMessagesErrorCode, ParkedMessagesException } from './parked-messages.exception.js';

/**
 * Operator work on the outbox messages the broker refused (too large, invalid record): list them,
 * and release one once its cause is fixed (the topic's limit raised, say), for the relay to publish.
 */
@Injectable()
export class ParkedMessagesService {
  private readonly logger = new Logger(ParkedMessagesService.name);

  constructor(
    private readonly parked: ParkedMessagesRepository,
    private readonly outbox: OutboxService,
  ) {}

  async list(limit: number): Promise<ParkedMessageListResponseDto> {
    const { count, items } = await this.parked.list(limit);
    return { count, items: items.map(toDto) };
  }

  async release(id: string, operator: string): Promise<ParkedMessageDto> {
    if (!OUTBOX_ID.test(id)) throw new ParkedMessagesException(ParkedMessagesErrorCode.INVALID_ID, 'id must be an outbox id (digits), as listed');
    const released = await this.parked.release(id);
    if (!released) throw new ParkedMessagesException(ParkedMessagesErrorCode.NOT_PARKED, `no parked outbox message ${id}`);
    // An operator's action on the message flow: who, and what, in the log.
    this.logger.log(`${operator} released parked outbox message ${id} (${released.eventType} ${released.eventId} to ${released.topic}, order ${released.key})`);
    this.outbox.flush(); // publish now rather than at the next poll
    return toDto(released);
  }
}

function toDto(m: ParkedMessage): ParkedMessageDto {
  return {
    id: m.id,
    topic: m.topic,
    orderId: m.key,
    eventType: m.eventType,
    eventId: m.eventId,
    createdAt: m.createdAt.toISOString(),
    parkedAt: m.parkedAt.toISOString(),
    lastError: m.lastError,
    attempts: m.attempts,
  };
}
