import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { ProblemCode, ProblemException, type FieldViolation } from './problem.js';

/** Flattens class-validator's tree into `items[0].quantity`-style paths, one entry per violation. */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldViolation[] {
  const out: FieldViolation[] = [];
  for (const e of errors) {
    const path = /^\d+$/.test(e.property) ? `${parent}[${e.property}]` : parent ? `${parent}.${e.property}` : e.property;
    for (const message of Object.values(e.constraints ?? {})) out.push({ field: path, message });
    if (e.children?.length) out.push(...flattenValidationErrors(e.children, path));
  }
  return out;
}

/** Whitelist, reject unknown fields, convert types, list every invalid field in one 400. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => {
      const violations = flattenValidationErrors(errors);
      return new ProblemException(ProblemCode.VALIDATION_FAILED, `${violations.length} invalid field(s)`, { errors: violations });
    },
  });
}
