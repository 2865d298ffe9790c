import { existsSync } from 'node:fs';
import path from 'node:path';

/** The path of a program on PATH (or in /usr/bin), or undefined. */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/bin'];
  return dirs.map((dir) => path.join(dir, name)).find((candidate) => existsSync(candidate));
}

/**
 * A describe block that needs a program from the machine (promtool and prometheus from Debian's
 * `prometheus` package, which .ci/run installs; kubectl for kustomize). Without it the block is
 * skipped with a message, except in CI (CI=true), where every test of it fails instead: CI must run them.
 */
export function describeWithBinary(name: string, title: string, body: (binary: string) => void): void {
  const binary = findBinary(name);
  if (!binary && process.env.CI !== 'true') {
    console.warn(`skipped "${title}": ${name} is not installed (apt-get install prometheus / kubectl; .ci/run installs what CI needs)`);
    describe.skip(title, () => body(name));
    return;
  }
  describe(title, () => {
    beforeAll(() => {
      if (!binary) throw new Error(`${name} is not installed, and CI must run "${title}" (.ci/run installs it)`);
    });
    body(binary ?? name);
  });
}
