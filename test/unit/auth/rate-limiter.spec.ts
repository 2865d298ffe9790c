import { RateLimiter } from '../../../src/platform/auth/rate-limiter.js';

describe('RateLimiter', () => {
  it('allows the limit per window and key, then tells when to retry', () => {
    let now = 0;
    const limiter = new RateLimiter(2, 60_000, () => now);
    expect(limiter.hit('client:a').allowed).toBe(true);
    expect(limiter.hit('client:a')).toMatchObject({ allowed: true, remaining: 0 });
    now = 15_000;
    expect(limiter.hit('client:a')).toMatchObject({ allowed: false, resetSeconds: 45 });
    expect(limiter.hit('client:b').allowed).toBe(true);
    now = 60_000;
    expect(limiter.hit('client:a').allowed).toBe(true);
  });
});
