import { bearerTokenOf } from '../../../src/platform/auth/bearer-challenge.js';

describe('bearerTokenOf (RFC 6750 §2.1)', () => {
  const of = (authorization?: unknown) => bearerTokenOf({ headers: authorization === undefined ? {} : { authorization } });

  it.each([
    ['Bearer abc.DEF-_~+/=', 'abc.DEF-_~+/='],
    ['bearer abc', 'abc'],
    ['BEARER   abc  ', 'abc'],
  ])('reads %j', (header, token) => {
    expect(of(header)).toBe(token);
  });

  it.each([undefined, '', 'Bearer', 'Bearer ', 'Basic b3JkZXI6c2VjcmV0', 'Bearer a b', 'Bearer a"b', 'Bearerabc', ['Bearer abc']])('finds no token in %j', (header) => {
    expect(of(header)).toBeNull();
  });
});
