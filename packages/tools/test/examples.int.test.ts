import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { buckets, toolInputDigest } from '@pipewright/contracts';
import { startProcess, waitFor, type ProcessHandle } from '@pipewright/devstack';
import { ToolRegistry } from '@pipewright/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callTool, describeTool } from '../src/index.js';
import { natsFixture, request } from './support.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/tools/', import.meta.url));
const TS_MAIN = `${EXAMPLES}dist/main.js`;
const PY_TOOL = `${EXAMPLES}python/word_count.py`;
/** The examples import `@pipewright/tools` as users would: the root package must depend on it. */
function toolsResolvable(): boolean {
  try {
    createRequire(TS_MAIN).resolve('@pipewright/tools');
    return true;
  } catch {
    return false;
  }
}
const tsBuilt = existsSync(TS_MAIN) && toolsResolvable();
const python = spawnSync('python3', ['--version']).status === 0;
// Logged, so a skip is never silent. The examples are built by the root `tsc -b` once examples/tools is in its
// references, and resolve @pipewright/tools once the root package.json lists it.
if (!tsBuilt) console.warn(`[examples] skipping the TypeScript example tools: ${TS_MAIN} is not built or cannot resolve @pipewright/tools`);
if (!python) console.warn('[examples] skipping the Python example tool: python3 is not installed');

/** The example tools in examples/tools, run as their own processes and called over NATS. */
describe('example tools', () => {
  let fx: Awaited<ReturnType<typeof natsFixture>>;
  let nc: NatsConnection;
  const procs: ProcessHandle[] = [];

  beforeAll(async () => {
    fx = await natsFixture();
    nc = await fx.connect();
  });
  afterAll(async () => {
    await Promise.allSettled(procs.map((p) => p.stop(5_000)));
    await fx?.close();
  });

  describe.skipIf(!tsBuilt)('TypeScript: lookup-order and refund', () => {
    beforeAll(async () => {
      // The registry bucket, as the planner creates it: the example tools are ready once registered.
      await ToolRegistry.open(nc, { create: true });
      for (let i = 0; i < 2; i++)
        procs.push(await startProcess({ name: `example-tools-${i}`, command: process.execPath, args: [TS_MAIN], env: { NATS_URL: fx.server.url }, readyPattern: /example tools ready/, readyTimeoutMs: 20_000 }));
    });

    it('registered both tools in the tool registry with their own schemas', async () => {
      const registry = await ToolRegistry.open(nc);
      for (const name of ['lookup-order', 'refund']) {
        const described = await describeTool(nc, name, { timeoutMs: 5_000 });
        if (!described.ok) throw new Error(`describe ${name}: ${JSON.stringify(described)}`);
        expect(await registry.get(name)).toMatchObject({ ...described.description, inputDigest: toolInputDigest(described.description.input) });
      }
    });

    it('looks orders up, and refuses unknown ids and bad arguments with the field named', async () => {
      expect(await callTool(nc, request('lookup-order', { orderId: 'o-1001' }), { timeoutMs: 5_000 })).toMatchObject({ ok: true, result: { id: 'o-1001', status: 'shipped', totalCents: 4_990 } });
      expect(await callTool(nc, request('lookup-order', { orderId: 'o-9999' }), { timeoutMs: 5_000 })).toMatchObject({ ok: false, error: { code: 'order_not_found', path: 'orderId' } });
      expect(await callTool(nc, request('lookup-order', { order: 'o-1001' }), { timeoutMs: 5_000 })).toMatchObject({ ok: false, error: { code: 'invalid_arguments' } });
    });

    it('refunds once per idempotency key across two replicas', async () => {
      const first = request('refund', { orderId: 'o-1002', cents: 10_000, reason: 'damaged' }, { runId: 'run-ex', callId: 't1' });
      const r1 = await callTool(nc, first, { timeoutMs: 5_000 });
      expect(r1).toMatchObject({ ok: true, result: { orderId: 'o-1002', cents: 10_000 } });
      for (let i = 0; i < 4; i++) expect(await callTool(nc, first, { timeoutMs: 5_000 })).toEqual({ ...r1, cached: true });
      // the refund really happened once: one "refund recorded" line in the logs of both replicas together
      const recordedLines = () => procs.flatMap((p) => p.output().split('\n')).filter((l) => l.includes('refund recorded') && l.includes('run-ex:agent:t1'));
      // the child's log line reaches us through a pipe: wait for it (bounded) before counting
      await waitFor('the refund log line', () => (recordedLines().length > 0 ? true : undefined), { timeoutMs: 5_000 });
      expect(recordedLines()).toHaveLength(1);
      expect(await callTool(nc, request('refund', { orderId: 'o-1002', cents: 999_999, reason: 'too much' }, { runId: 'run-ex', callId: 't2' }), { timeoutMs: 5_000 })).toMatchObject({
        ok: false,
        error: { code: 'refund_exceeds_total', path: 'cents' },
      });
    });
  });

  describe.skipIf(!python)('Python: word-count over the raw NATS protocol', () => {
    beforeAll(async () => {
      // Started without the registry bucket: its registration must wait for it.
      await (await new Kvm(nc).open(buckets.tools)).destroy().catch(() => false);
      procs.push(await startProcess({ name: 'word-count', command: 'python3', args: [PY_TOOL], env: { NATS_URL: fx.server.url }, readyPattern: /word-count tool ready/, readyTimeoutMs: 10_000 }));
    });

    it('registers itself once the planner has created the registry bucket, with the digest the planner computes', async () => {
      const proc = procs.at(-1)!;
      await waitFor('the first registration to be refused (no bucket yet)', () => (proc.output().includes('the tool registry is not there yet') ? true : undefined), { timeoutMs: 10_000 });
      const registry = await ToolRegistry.open(nc, { create: true });
      const entry = await waitFor('the word-count registry entry', () => registry.get('word-count'), { timeoutMs: 20_000 });
      const described = await describeTool(nc, 'word-count', { timeoutMs: 5_000 });
      if (!described.ok) throw new Error('describe failed');
      expect(entry).toMatchObject({ ...described.description, inputDigest: toolInputDigest(described.description.input) });
    });

    it('answers calls and describe requests in the protocol every tool speaks', async () => {
      expect(await callTool(nc, request('word-count', { text: 'tools are NATS services' }), { timeoutMs: 5_000 })).toEqual({ schemaVersion: 1, ok: true, result: { words: 4 } });
      expect(await callTool(nc, request('word-count', { text: 3 }), { timeoutMs: 5_000 })).toMatchObject({ ok: false, error: { code: 'invalid_arguments', path: 'text', retryable: false } });
      expect(await describeTool(nc, 'word-count', { timeoutMs: 5_000 })).toMatchObject({ ok: true, description: { name: 'word-count', version: '1.0.0', input: { required: ['text'] } } });
    });
  });
});
