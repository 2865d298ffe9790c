import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { ProblemCode, ProblemException } from './problem.js';

/**
 * Keys that reach an object's prototype when code merges or assigns a parsed body into another
 * object (prototype pollution). JSON.parse makes `__proto__` an ordinary own property, so nothing
 * before this check refuses it, and class-transformer drops it silently.
 */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Enough to name the offenders without answering a hostile body with a huge problem document. */
const MAX_REPORTED = 20;

/**
 * The paths (`items[0].constructor`) of every forbidden key in a parsed JSON value, at most
 * MAX_REPORTED. Walks with its own stack, not recursion: a deeply nested body must not overflow it.
 */
export function findForbiddenKeys(value: unknown): string[] {
  const found: string[] = [];
  // Children go on in reverse so that they come off, and are reported, in document order.
  const stack: Array<{ value: unknown; path: string; forbidden?: true }> = [{ value, path: '' }];
  while (stack.length && found.length < MAX_REPORTED) {
    const { value: node, path, forbidden } = stack.pop()!;
    if (forbidden) found.push(path);
    else if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push({ value: node[i], path: `${path}[${i}]` });
    } else if (node !== null && typeof node === 'object') {
      const keys = Object.keys(node);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i];
        const child = path ? `${path}.${key}` : key;
        stack.push(FORBIDDEN_KEYS.has(key) ? { value: undefined, path: child, forbidden: true } : { value: (node as Record<string, unknown>)[key], path: child });
      }
    }
  }
  return found;
}

/** A JSON body with a forbidden key at any depth is a 400 naming each path, before any handler sees it. */
@Injectable()
export class ForbiddenKeysMiddleware implements NestMiddleware {
  use(req: Request, _res: Response, next: NextFunction): void {
    const found = req.body !== undefined && typeof req.body === 'object' ? findForbiddenKeys(req.body) : [];
    if (found.length) {
      next(
        new ProblemException(ProblemCode.FORBIDDEN_KEY, `The body may not use the keys ${[...FORBIDDEN_KEYS].join(', ')}`, {
          errors: found.map((field) => ({ field, message: `${field.slice(field.lastIndexOf('.') + 1)} is not allowed as a key` })),
        }),
      );
      return;
    }
    next();
  }
}
