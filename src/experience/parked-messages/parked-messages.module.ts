import { Module } from '@nestjs/common';
import { ParkedMessagesRepository } from '../../platform/messaging/parked-messages.repository.js';
import { ParkedMessagesController } from './parked-messages.controller.js';
import { ParkedMessagesService } from './parked-messages.service.js';

/** Experience layer: operator routes for parked outbox messages (scope `orders.admin`). */
@Module({
  controllers: [ParkedMessagesController],
  providers: [ParkedMessagesService, ParkedMessagesRepository],
})
export class ParkedMessagesModule {}
