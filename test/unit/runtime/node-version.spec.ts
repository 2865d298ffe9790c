import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
const read = (file: string): string => fs.readFileSync(path.join(ROOT, file), 'utf8');
const major = (version: string): number => Number(version.replace(/^v/, '').split('.')[0]);

describe('Node 24', () => {
  it('runs these tests (npm test puts node_modules/.bin/node, from npm\'s "node" package, first on PATH)', () => {
    expect(major(process.versions.node)).toBeGreaterThanOrEqual(24);
  });

  it('is what the package, .nvmrc and the image declare', () => {
    const pkg = JSON.parse(read('package.json')) as { engines: { node: string }; devDependencies: Record<string, string>; allowScripts: Record<string, boolean> };
    expect(pkg.engines.node).toBe('>=24');
    expect(pkg.devDependencies.node).toMatch(/^\^24\./);
    expect(pkg.devDependencies['@types/node']).toMatch(/^\^24\./);
    expect(pkg.allowScripts.node).toBe(true);
    expect(read('.nvmrc').trim()).toBe('24');
    expect(read('docker/Dockerfile')).toMatch(/^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
  });

  // The first `npm start` / `npm test` of a fresh clone starts on the system's Node (node_modules/.bin
  // does not exist yet); once `npm ci` has run, the script must go on on the project's Node.
  const otherNode = ['/usr/bin/node', '/usr/local/bin/node'].find((bin) => fs.existsSync(bin) && fs.realpathSync(bin) !== fs.realpathSync(process.execPath));
  (otherNode ? it : it.skip)(`a script started on another Node (${otherNode ?? 'none here'}) runs again on the project's Node, with its arguments and exit code`, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'order-flow-node-'));
    const script = path.join(dir, 'probe.mjs');
    fs.writeFileSync(
      script,
      `import { ensureProjectNode } from ${JSON.stringify(path.join(ROOT, 'scripts', 'lib', 'infra.mjs'))};\n` +
        `await ensureProjectNode();\n` +
        `console.log(JSON.stringify({ version: process.version, args: process.argv.slice(2) }));\n` +
        `process.exit(7);\n`,
    );
    try {
      const { ORDER_FLOW_NODE_REEXEC: _ignored, ...env } = process.env;
      const r = spawnSync(otherNode!, [script, '--unit', 'x y'], { encoding: 'utf8', env, timeout: 30000 });
      expect(r.status).toBe(7);
      expect(r.stdout).toContain("running again on the project's Node");
      const line = r.stdout.trim().split('\n').at(-1)!;
      expect(JSON.parse(line)).toEqual({ version: process.version, args: ['--unit', 'x y'] });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
