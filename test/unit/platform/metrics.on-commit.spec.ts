import { observedOnCommit, onCommit } from '../../../src/platform/observability/metrics.on-commit.js';

describe('onCommit / observedOnCommit', () => {
  it('applies what a transaction observed once it resolves, in order', async () => {
    const seen: string[] = [];
    const result = await observedOnCommit(async () => {
      onCommit(() => seen.push('a'));
      await Promise.resolve();
      onCommit(() => seen.push('b'));
      expect(seen).toEqual([]);
      return 42;
    });
    expect(result).toBe(42);
    expect(seen).toEqual(['a', 'b']);
  });

  it('drops what a transaction observed when it rejects (a batch rolled back, to run again)', async () => {
    const seen: string[] = [];
    await expect(
      observedOnCommit(async () => {
        onCommit(() => seen.push('rolled back'));
        throw new Error('deadlock');
      }),
    ).rejects.toThrow('deadlock');
    await observedOnCommit(async () => onCommit(() => seen.push('committed')));
    expect(seen).toEqual(['committed']);
  });

  it('keeps transactions running side by side apart', async () => {
    const seen: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const slow = observedOnCommit(async () => {
      onCommit(() => seen.push('slow'));
      await held;
    });
    await observedOnCommit(async () => onCommit(() => seen.push('fast')));
    expect(seen).toEqual(['fast']);
    release();
    await slow;
    expect(seen).toEqual(['fast', 'slow']);
  });

  it('applies at once outside of a transaction', () => {
    const seen: string[] = [];
    onCommit(() => seen.push('now'));
    expect(seen).toEqual(['now']);
  });
});
