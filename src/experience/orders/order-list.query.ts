import type { OrderStatus } from '../../contracts/order-status.js';
import { ProblemCode, ProblemException, type FieldViolation } from '../../platform/http/problem.js';
import { DEFAULT_LIST_LIMIT, type ListOrdersQueryDto } from './dto/list-orders.dto.js';
import { decodeCursor } from './order-list.cursor.js';
import { parseRfc3339 } from './rfc3339.js';

/** A listing request once its parameters are checked: the filters, the page size and where it starts. */
export interface OrderListQuery {
  statuses: OrderStatus[];
  createdFrom?: Date;
  createdTo?: Date;
  customerEmail?: string;
  limit: number;
  /** The cursor's position: list orders older than this one. */
  beforeId?: string;
  /** What a cursor of this listing is bound to: its filters, normalised (see order-list.cursor.ts). */
  filterKey: string;
}

/** The filters in one canonical spelling: the same filters written differently share their cursors. */
function filterKeyOf(statuses: OrderStatus[], from?: Date, to?: Date, email?: string): string {
  return JSON.stringify([[...new Set(statuses)].sort(), from?.getTime() ?? null, to?.getTime() ?? null, email?.toLowerCase() ?? null]);
}

function invalid(errors: FieldViolation[]): ProblemException {
  return new ProblemException(ProblemCode.VALIDATION_FAILED, `${errors.length} invalid parameter(s)`, { errors });
}

/**
 * The listing query of parameters the validation pipe has checked one by one (ListOrdersQueryDto);
 * here what needs several of them: the date range's order, and a cursor made for these filters.
 */
export function listQueryOf(dto: ListOrdersQueryDto): OrderListQuery {
  const statuses = [...new Set(dto.status ?? [])];
  const createdFrom = dto.createdFrom === undefined ? undefined : (parseRfc3339(dto.createdFrom) as Date);
  const createdTo = dto.createdTo === undefined ? undefined : (parseRfc3339(dto.createdTo) as Date);
  const filterKey = filterKeyOf(statuses, createdFrom, createdTo, dto.customerEmail);
  const errors: FieldViolation[] = [];
  if (createdFrom && createdTo && createdFrom > createdTo) errors.push({ field: 'createdFrom', message: 'createdFrom must not be after createdTo' });
  const beforeId = dto.cursor === undefined ? undefined : decodeCursor(dto.cursor, filterKey);
  if (beforeId === null) {
    errors.push({ field: 'cursor', message: 'cursor must be a nextCursor of this listing, passed with the same filters' });
  }
  if (errors.length) throw invalid(errors);
  return {
    statuses,
    ...(createdFrom ? { createdFrom } : {}),
    ...(createdTo ? { createdTo } : {}),
    ...(dto.customerEmail !== undefined ? { customerEmail: dto.customerEmail } : {}),
    limit: dto.limit ?? DEFAULT_LIST_LIMIT,
    ...(beforeId ? { beforeId } : {}),
    filterKey,
  };
}
