import type { DataSource } from 'typeorm';
import { leanTransaction } from '../database/lean-transaction.js';
import { keyTable, placeholders, SqlBatch } from '../database/sql-batch.js';

/** An outbox row as a relay pass reads it. */
export interface OutboxRow {
  id: string;
  shard: number;
  topic: string;
  message_key: string;
  headers: string;
  payload: string;
  /** The W3C trace context the message was produced in (null when tracing was off). */
  traceparent: string | null;
  tracestate: string | null;
}

/** What a pass opens with: the shards it wants, those of them it has yet to claim, under which lease. */
export interface PassOpening {
  shards: number[];
  toClaim: number[];
  token: string;
  leaseMs: number;
  /** Most rows to read. */
  limit: number;
}

/** What a pass leaves behind: the rows it published and those it parked, and the leases it renews (`leaseMs`) or gives back (null). */
export interface PassClosing {
  /** The shards the loop holds, in shard order. */
  held: number[];
  token: string;
  leaseMs: number | null;
  sent: Array<Pick<OutboxRow, 'id'>>;
  parked: Array<{ row: Pick<OutboxRow, 'id'>; refusal: string }>;
}

/**
 * The relay's SQL over `outbox` and `outbox_shards`: shard leases by the database's clock, the due
 * rows of leased shards, and the closing of a pass. Each method is one database round trip.
 */
export class OutboxRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Messages waiting to be published (parked ones excluded). */
  async backlog(): Promise<number> {
    const [row] = await this.dataSource.query('SELECT COUNT(*) AS n FROM outbox WHERE parked_at IS NULL');
    return Number(row.n);
  }

  /** Messages set aside because the broker refused them. */
  async parkedCount(): Promise<number> {
    const [row] = await this.dataSource.query('SELECT COUNT(*) AS n FROM outbox WHERE parked_at IS NOT NULL');
    return Number(row.n);
  }

  /** Seconds the oldest due, unpublished (and not parked) row has been waiting; 0 when none. */
  async oldestDueAgeSeconds(): Promise<number> {
    const [row] = (await this.dataSource.query(OLDEST_DUE)) as Array<{ age_us: number | string }>;
    return row ? Math.max(0, Number(row.age_us) / 1e6) : 0;
  }

  /** The shards with due rows, read with no lease taken (an idle relay writes nothing). */
  async pendingShards(): Promise<number[]> {
    const rows: Array<{ shard: number }> = await this.dataSource.query(PENDING_SHARDS);
    return rows.map((p) => Number(p.shard));
  }

  /** Claims `toClaim`, then reads which of `shards` the lease holds and their due rows, in id order. */
  async openPass({ shards, toClaim, token, leaseMs, limit }: PassOpening): Promise<{ held: Set<number>; rows: OutboxRow[] }> {
    const open = new SqlBatch();
    if (toClaim.length) open.add(CLAIM_SHARDS(toClaim.length), [token, leaseMs * 1000, ...toClaim]);
    const heldAt = open.add(HELD_SHARDS(shards.length), [...shards, token]);
    const readAt = open.add(READ_LEASED(shards.length), [token, ...shards, limit]);
    const results = await open.run(this.dataSource.manager);
    const held = new Set((results[heldAt] as Array<{ shard: number }>).map((c) => Number(c.shard)));
    return { held, rows: results[readAt] as OutboxRow[] };
  }

  /**
   * Deletes the published rows and parks the refused ones, in one short transaction, only where the
   * lease still holds, and renews or gives back the leases in the same one. The shards are locked
   * first, in shard order, as claims lock them, so this never deadlocks with another relay's claim.
   */
  async closePass({ held, token, leaseMs, sent, parked }: PassClosing): Promise<void> {
    const close = new SqlBatch();
    if (sent.length || parked.length) close.add(`SELECT shard FROM outbox_shards WHERE shard IN (${placeholders(held)}) ORDER BY shard FOR UPDATE`, held);
    if (sent.length) close.add(DELETE_SENT, [JSON.stringify(sent.map((r) => r.id)), token]);
    for (const { row, refusal } of parked) close.add(PARK, [token, refusal, row.id]);
    if (leaseMs !== null) close.add(RENEW(held.length), [leaseMs * 1000, ...held, token]);
    else close.add(RELEASE(held.length), [...held, token]);
    if (close.size === 1) await close.run(this.dataSource.manager);
    else await leanTransaction(this.dataSource, (tx) => tx.run(close, { commit: true }));
  }

  /** Gives back the listed shards the lease still holds. */
  async release(held: number[], token: string): Promise<void> {
    await this.dataSource.query(RELEASE(held.length), [...held, token]);
  }
}

/** `?,?,?` for `n` values. */
const marks = (n: number): string => placeholders(Array.from({ length: n }));

/**
 * Leases the listed shards that no live lease holds to one pass (parameters: the lease token, its
 * length in microseconds, the shards), by the database's clock: replicas' clocks may disagree. An
 * UPDATE by primary key locks the rows in shard order for the statement only.
 */
export const CLAIM_SHARDS = (shards: number) =>
  `UPDATE outbox_shards SET lease_owner = ?, lease_until = UTC_TIMESTAMP(3) + INTERVAL ? MICROSECOND WHERE shard IN (${marks(shards)}) AND (lease_until IS NULL OR lease_until <= UTC_TIMESTAMP(3))`;

/** Which of the listed shards the loop holds (parameters: the shards, the lease token). */
export const HELD_SHARDS = (shards: number) => `SELECT shard FROM outbox_shards WHERE shard IN (${marks(shards)}) AND lease_owner = ?`;

/**
 * The shards with due rows. "Due" is by the database's clock, like the rows' available_at: the
 * replicas' clocks differ, and a row one of them stamped must be due for every other at the same time.
 */
export const PENDING_SHARDS = 'SELECT DISTINCT shard FROM outbox WHERE available_at <= UTC_TIMESTAMP(3) AND parked_at IS NULL ORDER BY shard';

/**
 * The age of the oldest due row, through the `available_at` index in order: it stops at the first
 * row that is not parked, so it reads a row or two however long the table is.
 */
export const OLDEST_DUE =
  'SELECT TIMESTAMPDIFF(MICROSECOND, available_at, UTC_TIMESTAMP(3)) AS age_us FROM outbox WHERE available_at <= UTC_TIMESTAMP(3) AND parked_at IS NULL ORDER BY available_at LIMIT 1';

/**
 * The due rows of the listed shards that the pass holds (parameters: the lease token, the shards,
 * the limit), in id order. The lease is checked before the LIMIT, not after. The outbox comes
 * first (STRAIGHT_JOIN): read in id order and stopped at the limit, as without the lease. Joined the
 * other way (or with `shard IN (SELECT …)`), MariaDB copied every row of the held shards, payloads
 * and all, into an on-disk temporary table to sort it, so a pass slowed down as rows piled up.
 */
export const READ_LEASED = (shards: number) =>
  `SELECT o.id, o.shard, o.topic, o.message_key, o.headers, o.payload, o.traceparent, o.tracestate FROM outbox o STRAIGHT_JOIN outbox_shards s ON s.shard = o.shard AND s.lease_owner = ? WHERE o.shard IN (${marks(shards)}) AND o.available_at <= UTC_TIMESTAMP(3) AND o.parked_at IS NULL ORDER BY o.id LIMIT ?`;

/**
 * Deletes the published rows (parameters: their ids as a JSON array, the lease token) of the shards
 * the pass still holds, by primary key, one lookup per id: the ids come as a JSON array joined to the
 * table. `WHERE id IN (…)` with hundreds of ids lets the optimizer pick a full scan when the table
 * is small (it is, when the relay keeps up), and a locking scan under REPEATABLE READ waits on every
 * uncommitted insert and gap-locks the whole table, so every transaction that stages a message (an
 * order's POST included) queued behind the relay.
 */
export const DELETE_SENT = `DELETE o FROM ${keyTable('sent', 'BIGINT')} STRAIGHT_JOIN outbox o ON o.id = sent.id STRAIGHT_JOIN outbox_shards s ON s.shard = o.shard AND s.lease_owner = ?`;

/** Parks a refused row of a shard the pass still holds (parameters: the lease token, the refusal, the id). */
export const PARK = 'UPDATE outbox o STRAIGHT_JOIN outbox_shards s ON s.shard = o.shard AND s.lease_owner = ? SET o.parked_at = NOW(3), o.last_error = ? WHERE o.id = ?';

/** Extends the lease of the listed shards the loop still holds (parameters: its length in microseconds, the shards, the lease token). */
export const RENEW = (shards: number) => `UPDATE outbox_shards SET lease_until = UTC_TIMESTAMP(3) + INTERVAL ? MICROSECOND WHERE shard IN (${marks(shards)}) AND lease_owner = ?`;

/** Gives back the listed shards this pass still holds (parameters: the shards, the lease token). */
export const RELEASE = (shards: number) => `UPDATE outbox_shards SET lease_owner = NULL, lease_until = NULL WHERE shard IN (${marks(shards)}) AND lease_owner = ?`;
