import { findForbiddenKeys } from '../../../src/platform/http/forbidden-keys.middleware.js';

describe('findForbiddenKeys', () => {
  it('names every forbidden key of a parsed body by its path, at any depth', () => {
    const body = JSON.parse('{"a":{"__proto__":1},"b":[{"c":{"constructor":{}}},{"prototype":[]}],"__proto__":null}');
    expect(findForbiddenKeys(body)).toEqual(['a.__proto__', 'b[0].c.constructor', 'b[1].prototype', '__proto__']);
  });

  it('finds nothing in a body that only uses the words as values, or in scalars', () => {
    expect(findForbiddenKeys({ note: '__proto__', list: ['constructor', { prototypeX: 'prototype' }] })).toEqual([]);
    expect(findForbiddenKeys('__proto__')).toEqual([]);
    expect(findForbiddenKeys(null)).toEqual([]);
  });

  it('walks a deeply nested body without overflowing the stack, and reports at most 20 paths', () => {
    const deep = JSON.parse(`${'['.repeat(100_000)}{"constructor":1}${']'.repeat(100_000)}`);
    expect(findForbiddenKeys(deep)).toEqual([`${'[0]'.repeat(100_000)}.constructor`]);
    const many = JSON.parse(`[${Array.from({ length: 50 }, () => '{"__proto__":1}').join(',')}]`);
    expect(findForbiddenKeys(many)).toHaveLength(20);
  });
});
