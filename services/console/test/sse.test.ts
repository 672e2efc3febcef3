import { createLogger, TokenSet } from '@pipewright/kit';
import { describe, expect, it } from 'vitest';
import { consoleTokens } from '../src/auth.js';
import { buildApp } from '../src/http/app.js';
import { ReadModel } from '../src/model/read-model.js';
import type { ConsolePorts, RunOperator, RunReader } from '../src/ports.js';

const TOKEN = 'reader-token-0123456789abcdef';
const AT = '2026-12-01T00:00:00.000Z';
const unused = new Proxy({}, { get: () => () => Promise.reject(new Error('not used here')) });

describe('GET /api/v1/events (the list stream), served by the app on the in-memory index', () => {
  it('sends heartbeats, and each change of a matching run summary as it happens', async () => {
    const log = createLogger('console-test', 'silent');
    const model = new ReadModel({ maxRuns: 1_000, retentionMs: 86_400_000 }, log);
    const ports: ConsolePorts = { auth: consoleTokens(TokenSet.parse([`viewer:read:${TOKEN}`], 'PW_CONSOLE_TOKENS', { roles: ['read', 'operate'] })), model, reader: unused as RunReader, operator: unused as RunOperator };
    const app = buildApp(ports, { log, maxBodyBytes: 1024, openapi: () => ({}), knows: () => Promise.resolve(false), heartbeatMs: 20 });
    const abort = new AbortController();
    const res = await app.request('/api/v1/events?label=batch=x', { headers: { authorization: `Bearer ${TOKEN}` }, signal: abort.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const until = async (cond: () => boolean) => {
      while (!cond()) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended: ${text}`);
        text += value;
      }
    };
    await until(() => text.includes(': heartbeat'));
    const started = (runId: string, batch: string) => JSON.stringify({ schemaVersion: 1, type: 'run.started', runId, at: AT, pipeline: 'p', tenant: 'default', steps: ['a'], labels: { batch } });
    model.ingest(started('other', 'y'));
    model.ingest(started('mine', 'x'));
    model.ingest(JSON.stringify({ schemaVersion: 1, type: 'run.finished', runId: 'mine', at: AT, status: 'succeeded', usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 }, costUsd: 0.5, durationMs: 1 }));
    await until(() => text.includes('"status":"succeeded"'));
    const runs = text
      .split('\n\n')
      .filter((b) => b.startsWith('event: run'))
      .map((b) => JSON.parse(b.slice(b.indexOf('data: ') + 6)) as { runId: string; status: string });
    expect(runs.map((r) => `${r.runId}:${r.status}`)).toEqual(['mine:running', 'mine:succeeded']);
    abort.abort();
    await reader.cancel().catch(() => undefined);
    // a bad filter is a 400 naming it; no token is a 401
    expect((await app.request('/api/v1/events?status=nope', { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(400);
    expect((await app.request('/api/v1/events')).status).toBe(401);
  });
});
