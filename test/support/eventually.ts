/**
 * Polls `probe` until it returns a value that `accept` likes, or fails with the last value seen.
 * Asynchronous outcomes are awaited this way, never with fixed sleeps.
 */
export async function eventually<T>(
  probe: () => Promise<T> | T,
  accept: (value: T) => boolean = Boolean,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const { timeoutMs = 20000, intervalMs = 100, what = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      last = await probe();
      if (accept(last)) return last;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const seen = lastError ? `last error: ${(lastError as Error).message}` : `last value: ${JSON.stringify(last)}`;
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${seen}`);
}
