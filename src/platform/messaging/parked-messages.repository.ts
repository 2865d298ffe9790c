import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** An outbox id as the operator routes take it: the BIGINT's decimal digits (it need not fit a JS number). */
export const OUTBOX_ID = /^[1-9][0-9]{0,18}$/;

/** An outbox message the relay set aside because the broker refused it (see OutboxRelayService). */
export interface ParkedMessage {
  id: string;
  topic: string;
  /** The message key: the order id. */
  key: string;
  eventType: string;
  eventId: string;
  createdAt: Date;
  parkedAt: Date;
  lastError: string | null;
  attempts: number;
}

interface ParkedRow {
  id: string;
  topic: string;
  message_key: string;
  event_type: string;
  event_id: string;
  created_at: Date;
  parked_at: Date;
  last_error: string | null;
  attempts: number;
}

const COLUMNS = 'CAST(id AS CHAR) AS id, topic, message_key, event_type, event_id, created_at, parked_at, last_error, attempts';

function toParked(r: ParkedRow): ParkedMessage {
  return {
    id: r.id,
    topic: r.topic,
    key: r.message_key,
    eventType: r.event_type,
    eventId: r.event_id,
    createdAt: new Date(r.created_at),
    parkedAt: new Date(r.parked_at),
    lastError: r.last_error,
    attempts: Number(r.attempts),
  };
}

/** The outbox rows the relay parked: how operators list and release them. */
@Injectable()
export class ParkedMessagesRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** The first `limit` parked messages in outbox order (the payload left out: it may be megabytes), and how many there are. */
  async list(limit: number): Promise<{ count: number; items: ParkedMessage[] }> {
    const [rows, [{ n }]] = await Promise.all([
      this.dataSource.query(`SELECT ${COLUMNS} FROM outbox WHERE parked_at IS NOT NULL ORDER BY id LIMIT ?`, [limit]) as Promise<ParkedRow[]>,
      this.dataSource.query('SELECT COUNT(*) AS n FROM outbox WHERE parked_at IS NOT NULL') as Promise<Array<{ n: number | string }>>,
    ]);
    return { count: Number(n), items: rows.map(toParked) };
  }

  /**
   * Releases one parked message: clears parked_at, so the relay's next pass publishes it. Returns the
   * message as it was, or null when no message with this id is parked (unknown, published, or already
   * released). The row is locked between the read and the update, so two releases cannot both succeed.
   */
  release(id: string): Promise<ParkedMessage | null> {
    return this.dataSource.transaction(async (tx) => {
      const rows: ParkedRow[] = await tx.query(`SELECT ${COLUMNS} FROM outbox WHERE id = ? AND parked_at IS NOT NULL FOR UPDATE`, [BigInt(id)]);
      if (!rows.length) return null;
      await tx.query('UPDATE outbox SET parked_at = NULL WHERE id = ?', [BigInt(id)]);
      return toParked(rows[0]);
    });
  }
}
