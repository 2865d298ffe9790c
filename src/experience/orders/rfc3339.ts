/** `2026-12-01T09:30:00Z`, `2026-12-01T10:30:00.250+01:00`: RFC 3339 §5.6, the offset required. */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Milliseconds of a fraction of a second, rounded up: stored times have milliseconds only. */
function millisOf(fraction = ''): number {
  const ms = Number(fraction.slice(0, 3).padEnd(3, '0'));
  return /[1-9]/.test(fraction.slice(3)) ? ms + 1 : ms;
}

/** Offset east of UTC in minutes, or null when out of range. */
function offsetMinutes(sign: string | undefined, hours: string | undefined, minutes: string | undefined): number | null {
  if (!sign) return 0;
  if (Number(hours) > 23 || Number(minutes) > 59) return null;
  return (sign === '-' ? -1 : 1) * (Number(hours) * 60 + Number(minutes));
}

/**
 * The instant of an RFC 3339 date-time with an offset (`Z` or `±hh:mm`), or null when it is not one or
 * names no real date (2026-02-30, 24:00). Sub-millisecond digits round up to the next millisecond, so
 * `>=` and `<` against stored millisecond times mean what the caller wrote. Years 1000-9999 (DATETIME).
 */
export function parseRfc3339(value: string): Date | null {
  const m = DATE_TIME.exec(value);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const offset = offsetMinutes(m[9], m[10], m[11]);
  if (offset === null || year < 1000 || hour > 23 || minute > 59 || second > 59) return null;
  const at = new Date(0);
  at.setUTCFullYear(year, month - 1, day);
  if (at.getUTCMonth() !== month - 1 || at.getUTCDate() !== day) return null;
  at.setUTCHours(hour, minute - offset, second, millisOf(m[7]));
  return at;
}
