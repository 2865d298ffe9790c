import { z } from 'zod';

/**
 * Building blocks of the environment schema. Every value arrives as a string: numbers and booleans
 * are converted, and an error names its variable ("PORT" must be a number).
 */

const NUMBER_TEXT = /^\s*[+-]?(?:(?:\d+(?:\.\d*)?)|(?:\.\d+))(?:e([+-]?\d+))?\s*$/i;
const toNumber = (v: unknown): unknown => (typeof v === 'string' && NUMBER_TEXT.test(v) ? Number(v) : v);

/** A number within `min` and `max`; `integer` unless told otherwise. */
export function number(limits: { min?: number; max?: number; integer?: boolean } = {}) {
  let schema = limits.integer === false ? z.number() : z.int();
  if (limits.min !== undefined) schema = schema.min(limits.min);
  if (limits.max !== undefined) schema = schema.max(limits.max);
  return z.preprocess(toNumber, schema);
}

/** `true` or `false`, in any case. */
export const boolean = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  const lower = v.trim().toLowerCase();
  return lower === 'true' ? true : lower === 'false' ? false : v;
}, z.boolean());

/** A non-empty string. */
export const text = z.string().min(1, { abort: true });

/** A URL whose scheme is one of `schemes`; `message` replaces the default complaint. */
export function url(schemes?: readonly string[], message?: string) {
  return text.refine(
    (value) => {
      if (!URL.canParse(value)) return false;
      return !schemes || schemes.includes(new URL(value).protocol.slice(0, -1));
    },
    { message: message ?? (schemes ? `must be a valid uri with a scheme matching the ${schemes.join('|')} pattern` : 'must be a valid uri') },
  );
}

/** One line per problem, each naming its variable. */
export function describeEnvIssues(issues: readonly z.core.$ZodIssue[], raw: Record<string, unknown>): string[] {
  return issues.map((issue) => {
    const name = String(issue.path[0] ?? 'environment');
    const message = raw[name] === undefined && issue.code === 'invalid_type' ? 'is required' : issueMessage(issue);
    return message.includes(name) ? message : `"${name}" ${message}`;
  });
}

function issueMessage(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.expected === 'int' ? 'must be an integer' : `must be a ${issue.expected}`;
    case 'too_small':
      if (issue.origin === 'string') return issue.minimum === 1 ? 'is not allowed to be empty' : `length must be at least ${issue.minimum} characters long`;
      return `must be greater than or equal to ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'string') return `length must be less than or equal to ${issue.maximum} characters long`;
      return `must be less than or equal to ${issue.maximum}`;
    case 'invalid_value':
      return `must be one of [${issue.values.join(', ')}]`;
    default:
      return issue.message;
  }
}
