import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { OrderStatus } from '../../contracts/order-status.js';
import { affectedRows, keyTable, placeholders, SqlBatch } from '../../platform/database/sql-batch.js';
import type { SagaStep, StepState } from './order-saga.js';

/** A step row: what the order waits on, since when and until when. */
export interface StepRecord extends StepState {
  dueAt: Date;
  sentAt: Date | null;
}

interface StepRow {
  order_id: string;
  step: SagaStep;
  state: StepState['state'];
  attempt: number;
  command_event_id: string | null;
  due_at: Date | string;
  sent_at: Date | string | null;
}

function toStepRecord(r: StepRow): StepRecord {
  return {
    step: r.step,
    state: r.state,
    attempt: r.attempt,
    commandEventId: r.command_event_id,
    dueAt: new Date(r.due_at),
    sentAt: r.sent_at === null ? null : new Date(r.sent_at),
  };
}

/** A step row as written at the end of a saga transaction. */
export interface StepWrite {
  orderId: string;
  record: StepRecord;
  correlationId: string;
}

/** A step row past its due time, with when its system module took the command (null: not yet). */
export interface DueStep {
  orderId: string;
  step: SagaStep;
  state: 'WAITING' | 'RETRY';
  attempt: number;
  commandEventId: string | null;
  correlationId: string;
  sentAt: Date;
  /** When the target group's inbox recorded the command, or the group dead-lettered it. */
  takenAt: Date | null;
  /** The database's clock when the rows were read. */
  now: Date;
}

interface DueStepRow {
  order_id: string;
  step: SagaStep;
  state: DueStep['state'];
  attempt: number;
  command_event_id: string | null;
  correlation_id: string;
  sent_at: Date;
  taken_ago_us: number | string | null;
  now: Date;
}

function toDueStep(r: DueStepRow): DueStep {
  const now = new Date(r.now);
  return {
    orderId: r.order_id,
    step: r.step,
    state: r.state,
    attempt: r.attempt,
    commandEventId: r.command_event_id,
    correlationId: r.correlation_id,
    sentAt: new Date(r.sent_at),
    takenAt: r.taken_ago_us === null ? null : new Date(now.getTime() - Number(r.taken_ago_us) / 1000),
    now,
  };
}

/** A compensation set aside for an operator, with its order's status. */
export interface StuckStepRow {
  order_id: string;
  step: string;
  status: OrderStatus;
  attempt: number;
  sent_at: Date | null;
  updated_at: Date;
  correlation_id: string;
}

/**
 * `saga_steps`: the step each order waits on (its command, attempt and deadline). Rows change only
 * under their order's lock, except the scheduler's deadline moves, which are guarded by the row's state.
 */
@Injectable()
export class SagaStepRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Adds the read of the orders' step rows to `batch`; returns its reader. */
  stageRead(batch: SqlBatch, orderIds: string[]): (results: unknown[]) => Array<StepRecord & { orderId: string }> {
    const read = batch.add(`SELECT order_id, step, state, attempt, command_event_id, due_at, sent_at FROM saga_steps WHERE order_id IN (${placeholders(orderIds)})`, orderIds);
    return (results) => (results[read] as StepRow[]).map((r) => ({ ...toStepRecord(r), orderId: r.order_id }));
  }

  /** Adds one upsert of the step rows that remain and one DELETE per step kind of those that ended. */
  stageWrites(batch: SqlBatch, upserts: StepWrite[], ended: Map<SagaStep, string[]>, at: Date): void {
    if (upserts.length) {
      batch.addRows(
        'INSERT INTO saga_steps (order_id, step, state, attempt, due_at, sent_at, correlation_id, command_event_id, created_at, updated_at)',
        upserts.map(({ orderId, record: r, correlationId }) => [orderId, r.step, r.state, r.attempt, r.dueAt, r.sentAt, correlationId, r.commandEventId, at, at]),
        'ON DUPLICATE KEY UPDATE state = VALUES(state), attempt = VALUES(attempt), due_at = VALUES(due_at), sent_at = VALUES(sent_at), command_event_id = VALUES(command_event_id), updated_at = VALUES(updated_at)',
      );
    }
    for (const [step, orderIds] of ended)
      batch.add(`DELETE s FROM ${keyTable('k')} STRAIGHT_JOIN saga_steps s ON s.order_id = k.id AND s.step = ?`, [JSON.stringify(orderIds), step]);
  }

  /**
   * Step rows past their due time (oldest first), with when the consumer group each step's command
   * went to (`groups`, by step) recorded or dead-lettered it.
   */
  async findDue(groups: ReadonlyMap<SagaStep, string>, limit: number): Promise<DueStep[]> {
    const steps = [...groups.keys()];
    const groupIds = [...groups.values()];
    const groupOf = `ELT(FIELD(s.step, ${placeholders(steps)}), ${placeholders(groupIds)})`;
    const rows: DueStepRow[] = await this.dataSource.query(
      `SELECT s.order_id, s.step, s.state, s.attempt, s.command_event_id, s.correlation_id, COALESCE(s.sent_at, s.updated_at) AS sent_at,
              -- Inbox rows are stamped by their column default (the session's time zone): compared as an age.
              TIMESTAMPDIFF(MICROSECOND, COALESCE(p.processed_at, d.dead_lettered_at), NOW(3)) AS taken_ago_us, UTC_TIMESTAMP(3) AS now
         FROM saga_steps s
         LEFT JOIN processed_messages p ON p.consumer_group = ${groupOf} AND p.event_id = s.command_event_id
         LEFT JOIN dead_lettered_messages d ON d.consumer_group = ${groupOf} AND d.event_id = s.command_event_id
        WHERE s.state IN ('WAITING', 'RETRY') AND s.due_at <= UTC_TIMESTAMP(3)
        ORDER BY s.due_at LIMIT ?`,
      [...steps, ...groupIds, ...steps, ...groupIds, limit],
    );
    return rows.map(toDueStep);
  }

  /** Moves the deadlines of waiting rows (each its own statement: no multi-row locks, so no deadlocks with the saga). */
  async defer(rows: Array<{ row: DueStep; until: Date }>): Promise<void> {
    if (!rows.length) return;
    const batch = new SqlBatch();
    for (const { row, until } of rows) {
      batch.add(`UPDATE saga_steps SET due_at = ? WHERE order_id = ? AND step = ? AND command_event_id <=> ? AND state = 'WAITING'`, [
        until,
        row.orderId,
        row.step,
        row.commandEventId,
      ]);
    }
    await batch.run(this.dataSource.manager);
  }

  /** Makes the step due again `seconds` from now (by the database's clock). */
  async postpone(orderId: string, step: SagaStep, seconds: number): Promise<void> {
    await this.dataSource.query('UPDATE saga_steps SET due_at = UTC_TIMESTAMP(3) + INTERVAL ? SECOND WHERE order_id = ? AND step = ?', [seconds, orderId, step]);
  }

  /** How many compensations are set aside, and the oldest `limit` of them. */
  async findStuck(limit: number): Promise<{ count: number; rows: StuckStepRow[] }> {
    const [[{ n }], rows] = (await Promise.all([
      this.dataSource.query(`SELECT COUNT(*) AS n FROM saga_steps WHERE state = 'STUCK'`),
      this.dataSource.query(
        `SELECT s.order_id, s.step, o.status, s.attempt, s.sent_at, s.updated_at, s.correlation_id
           FROM saga_steps s JOIN orders o ON o.id = s.order_id WHERE s.state = 'STUCK' ORDER BY s.updated_at LIMIT ?`,
        [limit],
      ),
    ])) as [Array<{ n: number | string }>, StuckStepRow[]];
    return { count: Number(n), rows };
  }

  /**
   * Makes a compensation set aside due now, with attempt 0 and no command (the scheduler sends
   * attempt 1 on its next pass). False if no such step is set aside.
   */
  async retryStuck(orderId: string, step: string): Promise<boolean> {
    const result = await this.dataSource.query(
      `UPDATE saga_steps SET state = 'WAITING', attempt = 0, command_event_id = NULL, due_at = UTC_TIMESTAMP(3), updated_at = UTC_TIMESTAMP(3)
        WHERE order_id = ? AND step = ? AND state = 'STUCK'`,
      [orderId, step],
    );
    return affectedRows(result) === 1;
  }
}
