import { jest } from '@jest/globals';
import { RateLimiter } from '../../../src/platform/auth/rate-limiter.js';

describe('RateLimiter (in memory)', () => {
  let now = 1_800_000_000_000;
  beforeEach(() => {
    jest.spyOn(Date, 'now').mockImplementation(() => now);
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('allows the limit per window and key, then tells when to retry', async () => {
    const limiter = new RateLimiter({ limit: 2 });
    expect(await limiter.hit('client:a')).toEqual({ allowed: true, limit: 2, remaining: 1, resetSeconds: 60 });
    expect(await limiter.hit('client:a')).toMatchObject({ allowed: true, remaining: 0 });
    now += 15_000;
    expect(await limiter.hit('client:a')).toEqual({ allowed: false, limit: 2, remaining: 0, resetSeconds: 45 });
    expect(await limiter.hit('client:a')).toMatchObject({ allowed: false, resetSeconds: 45 });
    expect((await limiter.hit('client:b')).allowed).toBe(true);
    now += 45_000;
    expect(await limiter.hit('client:a')).toMatchObject({ allowed: true, remaining: 1 });
  });
});
