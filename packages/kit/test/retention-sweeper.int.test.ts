import { Writable } from 'node:stream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, waitFor, type NatsServerHandle } from '@pipewright/devstack';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openKvStores } from '../src/store/kv.js';
import { startRetentionSweeper } from '../src/store/retention.js';
import type { Stores } from '../src/store/types.js';
import { finishedRun, iso } from './store-fixtures.js';

const DAY_MS = 86_400_000;

/** A real pino logger that keeps its lines, to see what the sweeper reported. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

describe('startRetentionSweeper', () => {
  let server: NatsServerHandle | undefined;
  let nc: NatsConnection;
  let stores: Stores;
  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    stores = await openKvStores(nc);
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  it('removes finished runs past retention on its interval, logs it, and stops', async () => {
    const old = finishedRun(iso(Date.now() - 10 * DAY_MS));
    const fresh = finishedRun(iso(Date.now() - DAY_MS));
    await stores.runs.create(old);
    await stores.runs.create(fresh);
    const { log, lines } = capturingLogger();
    const sweeper = startRetentionSweeper({ stores, olderThanMs: 7 * DAY_MS, intervalMs: 100, log });
    expect(sweeper.active).toBe(true);
    await waitFor('the old run to be swept', async () => ((await stores.runs.get(old.runId)) === undefined ? true : undefined), { timeoutMs: 10_000 });
    await sweeper.stop();
    expect(await stores.runs.get(fresh.runId)).toBeDefined();
    expect(lines.some((l) => l['msg'] === 'retention sweep removed finished runs' && l['removedRuns'] === 1)).toBe(true);

    // stopped: a run past retention now stays until someone sweeps
    const later = finishedRun(iso(Date.now() - 9 * DAY_MS));
    await stores.runs.create(later);
    await new Promise((r) => setTimeout(r, 300));
    expect(await stores.runs.get(later.runId)).toBeDefined();
    expect(await sweeper.sweepNow()).toEqual({ runs: 1, blobs: 0, more: false });
  });

  it('schedules nothing where the server expires runs itself, or when the interval is 0', async () => {
    const { log, lines } = capturingLogger();
    const ttl = startRetentionSweeper({ stores: { ...stores, retention: 'ttl' }, olderThanMs: DAY_MS, intervalMs: 50, log });
    const off = startRetentionSweeper({ stores, olderThanMs: DAY_MS, intervalMs: 0, log });
    expect([ttl.active, off.active]).toEqual([false, false]);
    const old = finishedRun(iso(Date.now() - 3 * DAY_MS));
    await stores.runs.create(old);
    await new Promise((r) => setTimeout(r, 300));
    expect(await stores.runs.get(old.runId)).toBeDefined();
    await Promise.all([ttl.stop(), off.stop()]);
    expect(lines.filter((l) => l['msg'] === 'retention sweeper not scheduled')).toHaveLength(2);
  });
});
