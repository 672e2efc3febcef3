import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { killAllChildren, liveChildCount, startProcess, waitFor } from '../src/index.js';

const node = process.execPath;
const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/** Whether a pid is gone (or a zombie waiting for its new parent to reap it). */
function isDead(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

describe('child processes do not outlive the parent', () => {
  it('killAllChildren SIGKILLs every running child synchronously', async () => {
    const a = await startProcess({ name: 'a', command: node, args: ['-e', 'setInterval(() => {}, 1000)'] });
    const b = await startProcess({ name: 'b', command: node, args: ['-e', 'setInterval(() => {}, 1000)'] });
    expect(liveChildCount()).toBe(2);
    killAllChildren();
    expect(await a.exited).toBeNull();
    expect(await b.exited).toBeNull();
    expect(liveChildCount()).toBe(0);
  });

  if (!existsSync(dist)) console.warn(`skipping the parent-exit tests: ${dist} is not built (run: npx tsc -b packages/devstack)`);

  const keepAlive = 'setInterval(() => {}, 1000);';
  for (const [how, ending, expectEnd] of [
    ['process.exit()', 'process.exit(0);', { status: 0, signal: null }],
    ['an uncaught exception', 'throw new Error("parent crashed");', { status: 1, signal: null }],
    ['SIGTERM it has no handler for (re-raised)', `process.kill(process.pid, 'SIGTERM'); ${keepAlive}`, { status: null, signal: 'SIGTERM' }],
    [
      'its own SIGTERM handler that exits',
      `process.on('SIGTERM', () => process.exit(5)); process.kill(process.pid, 'SIGTERM'); ${keepAlive}`,
      { status: 5, signal: null },
    ],
  ] as const) {
    it.skipIf(!existsSync(dist))(`the exit hook kills children when the parent ends by ${how}`, async () => {
      const parent = spawnSync(
        node,
        [
          '--input-type=module',
          '-e',
          `const { startProcess } = await import(${JSON.stringify(pathToFileURL(dist).href)});
           const child = await startProcess({ name: 'orphan', command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'] });
           console.log('CHILD ' + child.pid);
           ${ending}`,
        ],
        { encoding: 'utf8', timeout: 20_000 },
      );
      const pid = Number(/CHILD (\d+)/.exec(parent.stdout)?.[1]);
      expect(pid, parent.stderr).toBeGreaterThan(0);
      expect({ status: parent.status, signal: parent.signal }).toEqual(expectEnd);
      await waitFor(`orphan pid ${pid} to be gone`, () => (isDead(pid) ? true : undefined), { timeoutMs: 5_000 });
    });
  }
});
