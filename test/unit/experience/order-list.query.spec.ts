import 'reflect-metadata';
import type { ArgumentMetadata } from '@nestjs/common';
import { v7 } from 'uuid';
import { ListOrdersQueryDto } from '../../../src/experience/orders/dto/list-orders.dto.js';
import { decodeCursor, encodeCursor } from '../../../src/experience/orders/order-list.cursor.js';
import { listQueryOf, type OrderListQuery } from '../../../src/experience/orders/order-list.query.js';
import { parseRfc3339 } from '../../../src/experience/orders/rfc3339.js';
import { ProblemException } from '../../../src/platform/http/problem.js';
import { createValidationPipe } from '../../../src/platform/http/validation.js';

const meta: ArgumentMetadata = { type: 'query', metatype: ListOrdersQueryDto };
const pipe = createValidationPipe();

/** A query string's parameters as Express's simple parser gives them, through the pipe and listQueryOf. */
async function parse(query: Record<string, string | string[]>): Promise<OrderListQuery> {
  return listQueryOf(await pipe.transform(query, meta));
}

/** The fields a rejected query names. */
async function rejected(query: Record<string, string | string[]>): Promise<string[]> {
  try {
    await parse(query);
  } catch (err) {
    expect(err).toBeInstanceOf(ProblemException);
    const problem = (err as ProblemException).toProblem();
    expect(problem).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    return [...new Set((problem.errors ?? []).map((e) => e.field))];
  }
  throw new Error('accepted');
}

describe('the listing cursor', () => {
  const key = JSON.stringify([['SHIPPED'], null, null, null]);

  it('gives back the position it was made of, for the same filters only', () => {
    const id = v7();
    const cursor = encodeCursor(id, key);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]{34}$/);
    expect(decodeCursor(cursor, key)).toBe(id);
    expect(decodeCursor(cursor, JSON.stringify([['CANCELLED'], null, null, null]))).toBeNull();
  });

  it('rejects every single-character edit, and garbage', () => {
    const cursor = encodeCursor(v7(), key);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let i = 0; i < cursor.length; i++) {
      for (const c of alphabet.slice(0, 16)) {
        const edited = cursor.slice(0, i) + c + cursor.slice(i + 1);
        if (edited !== cursor) expect(decodeCursor(edited, key)).toBeNull();
      }
    }
    for (const garbage of ['', 'x', cursor.slice(1), `${cursor}A`, `${cursor.slice(0, -1)}=`, cursor.replace(/./, '+'), Buffer.from('v1:whatever').toString('base64url')]) {
      expect(decodeCursor(garbage, key)).toBeNull();
    }
  });

  it('is made of lower-case UUIDs only', () => {
    expect(() => encodeCursor('not-an-id', key)).toThrow();
  });
});

describe('RFC 3339 date-times', () => {
  it.each([
    ['2026-12-01T00:00:00Z', '2026-12-01T00:00:00.000Z'],
    ['2026-12-01t10:30:00.5+01:30', '2026-12-01T09:00:00.500Z'],
    ['2026-12-01T00:00:00.123000-00:00', '2026-12-01T00:00:00.123Z'],
    // Beyond milliseconds rounds up, so >= and < against stored milliseconds keep their meaning.
    ['2026-12-01T00:00:00.1231Z', '2026-12-01T00:00:00.124Z'],
    ['2024-02-29T23:59:59.999Z', '2024-02-29T23:59:59.999Z'],
  ])('%s is %s', (text, iso) => {
    expect(parseRfc3339(text)?.toISOString()).toBe(iso);
  });

  it.each([
    '2026-12-01',
    '2026-12-01T00:00:00',
    '2026-12-01 00:00:00Z',
    '2026-02-29T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-12-01T24:00:00Z',
    '2026-12-01T00:60:00Z',
    '2026-12-01T00:00:00+24:00',
    '0999-12-01T00:00:00Z',
    'now',
    '1733011200000',
  ])('%s is none', (text) => {
    expect(parseRfc3339(text)).toBeNull();
  });
});

describe('the listing query', () => {
  it('defaults to 50 of any status, without filters or position', async () => {
    expect(await parse({})).toEqual({ statuses: [], limit: 50, filterKey: expect.any(String) });
  });

  it('reads every parameter: status once or repeated, dates with offsets, email, limit and cursor', async () => {
    const q = await parse({
      status: ['SHIPPED', 'CANCELLED', 'SHIPPED'],
      createdFrom: '2026-12-01T01:00:00+01:00',
      createdTo: '2026-12-02T00:00:00Z',
      customerEmail: 'Ada@Example.com',
      limit: '200',
    });
    expect(q).toMatchObject({ statuses: ['SHIPPED', 'CANCELLED'], customerEmail: 'Ada@Example.com', limit: 200 });
    expect(q.createdFrom?.toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(q.createdTo?.toISOString()).toBe('2026-12-02T00:00:00.000Z');
    expect((await parse({ status: 'SHIPPED' })).statuses).toEqual(['SHIPPED']);
    const id = v7();
    expect((await parse({ status: 'SHIPPED', cursor: encodeCursor(id, (await parse({ status: 'SHIPPED' })).filterKey) })).beforeId).toBe(id);
  });

  it('binds cursors to the filters, not to how they are spelled nor to the page size', async () => {
    const a = await parse({ status: ['SHIPPED', 'CANCELLED'], createdFrom: '2026-12-01T00:00:00Z', customerEmail: 'ada@example.com', limit: '5' });
    const b = await parse({ status: ['CANCELLED', 'SHIPPED'], createdFrom: '2026-12-01T01:00:00+01:00', customerEmail: 'ADA@example.com', limit: '9' });
    expect(b.filterKey).toBe(a.filterKey);
    expect((await parse({ status: 'SHIPPED' })).filterKey).not.toBe(a.filterKey);
    expect(await rejected({ cursor: encodeCursor(v7(), a.filterKey) })).toEqual(['cursor']);
  });

  it.each<[Record<string, string | string[]>, string[]]>([
    [{ limit: '0' }, ['limit']],
    [{ limit: '201' }, ['limit']],
    [{ limit: '1e1' }, ['limit']],
    [{ limit: '-1' }, ['limit']],
    [{ limit: ' 5' }, ['limit']],
    [{ limit: ['1', '2'] }, ['limit']],
    [{ status: 'shipped' }, ['status']],
    [{ status: ['SHIPPED', ''] }, ['status']],
    [{ createdFrom: '2026-12-01' }, ['createdFrom']],
    [{ createdTo: ['2026-12-01T00:00:00Z', '2026-12-02T00:00:00Z'] }, ['createdTo']],
    [{ createdFrom: '2026-12-02T00:00:00Z', createdTo: '2026-12-01T23:59:59.999Z' }, ['createdFrom']],
    [{ customerEmail: ['a@example.com', 'b@example.com'] }, ['customerEmail']],
    [{ customerEmail: 'x'.repeat(321) }, ['customerEmail']],
    [{ cursor: 'garbage' }, ['cursor']],
    [{ page: '2' }, ['page']],
    [{ limit: '0', status: 'LOST', orderBy: 'id' }, ['limit', 'orderBy', 'status']],
  ])('rejects %j naming %j', async (query, fields) => {
    expect((await rejected(query)).sort()).toEqual(fields);
  });

  it('accepts an empty range (createdFrom equal to createdTo)', async () => {
    await expect(parse({ createdFrom: '2026-12-01T00:00:00Z', createdTo: '2026-12-01T00:00:00Z' })).resolves.toBeDefined();
  });
});
