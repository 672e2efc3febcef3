import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dashboardRoutes } from '../src/dashboard/routes.js';
import { DashboardClient } from './support/dashboard-client.js';
import { MemoryConsole, runDetail, TOKENS } from './support/dashboard-ports.js';

const WAIT_MS = 10_000;

/** Reads a Server-Sent Events body message by message. */
class SseReader {
  private buffer = '';
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();

  constructor(res: Response) {
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    this.reader = res.body!.getReader();
  }

  /** The next `html` message whose data satisfies `until`, within WAIT_MS. */
  async html(until: (data: string) => boolean = () => true): Promise<string> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      let end: number;
      while ((end = this.buffer.indexOf('\n\n')) >= 0) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        if (!block.startsWith('event: html')) continue;
        const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
        if (until(data)) return data;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no matching html message in time');
      const chunk = await Promise.race([this.reader.read(), new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), left))]);
      if (chunk === 'timeout') continue;
      if (chunk.done) throw new Error('the stream ended');
      this.buffer += this.decoder.decode(chunk.value, { stream: true });
    }
  }

  close(): Promise<void> {
    return this.reader.cancel();
  }
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('dashboard: live views (Server-Sent Events under the session)', () => {
  let ports: MemoryConsole;
  let client: DashboardClient;
  const open: SseReader[] = [];
  beforeEach(async () => {
    ports = new MemoryConsole();
    client = new DashboardClient(dashboardRoutes(ports, { sessionTtlMs: 3_600_000 }));
    await client.signIn(TOKENS.rita);
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  const sse = async (path: string) => {
    const s = new SseReader(await client.get(path));
    open.push(s);
    return s;
  };

  it('the runs list: a new run that matches the filters appears, others do not; closing ends the subscription', async () => {
    ports.put(runDetail({ runId: 'old', labels: { batch: 'b1' } }));
    const page = await (await client.get('/runs?label=batch%3Db1')).text();
    expect(page).toContain('data-live="/runs/live?label=batch%3Db1"');
    const live = await sse('/runs/live?label=batch%3Db1');
    expect(await live.html()).toContain('id="run-old"');
    ports.put(runDetail({ runId: 'other-batch', labels: { batch: 'b2' } }));
    ports.put(runDetail({ runId: 'new-one', labels: { batch: 'b1', note: '<b>"hi"</b>' }, createdAt: '2026-05-01T12:05:00.000Z' }));
    const rows = await live.html((d) => d.includes('new-one'));
    expect(rows).not.toContain('other-batch');
    expect(rows.indexOf('run-new-one')).toBeLessThan(rows.indexOf('run-old'));
    expect(rows).toContain('note=&lt;b&gt;&quot;hi&quot;&lt;/b&gt;');
    ports.put(runDetail({ runId: 'old', labels: { batch: 'b1' }, status: 'succeeded', updatedAt: '2026-05-01T12:06:00.000Z' }));
    expect(await live.html((d) => d.includes('st-succeeded'))).toContain('id="run-old" class="row st-succeeded"');
    expect(ports.listenerCount).toBe(1);
    await open.pop()!.close();
    await until(() => ports.listenerCount === 0);
  });

  it('a batch: counts and failures follow its runs', async () => {
    ports.put(runDetail({ runId: 'a1', labels: { batch: 'n1' } }));
    const live = await sse('/batch/live?label=batch%3Dn1');
    expect(await live.html()).toMatch(/id="batch-total">1</);
    ports.put(runDetail({ runId: 'a2', labels: { batch: 'n1' }, status: 'failed', reason: 'the model said <no>', finishedAt: '2026-05-01T12:02:00.000Z' }));
    const body = await live.html((d) => d.includes('a2'));
    expect(body).toMatch(/id="batch-total">2</);
    expect(body).toContain('href="/runs/a2"');
    expect(body).toContain('the model said &lt;no&gt;');
  });

  it('a run page: each event of the run re-renders it, and a resumed run is followed again', async () => {
    ports.put(runDetail({ runId: 'r1' }));
    const live = await sse('/runs/r1/live');
    expect(await live.html()).toContain('<code>r1</code>');
    ports.runs.set('r1', runDetail({ runId: 'r1', status: 'failed', updatedAt: '2026-05-01T12:03:00.000Z', reason: 'review failed: <oops>' }));
    ports.emit('r1', { schemaVersion: 1, type: 'run.finished', runId: 'r1', at: '2026-05-01T12:03:00.000Z', status: 'failed', usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 }, costUsd: 0, durationMs: 1 } as never);
    expect(await live.html((d) => d.includes('st-failed'))).toContain('review failed: &lt;oops&gt;');
    // resumed: the summary changes (the event stream had ended with run.finished)
    ports.put(runDetail({ runId: 'r1', status: 'succeeded', updatedAt: '2026-05-01T12:04:00.000Z' }));
    expect(await live.html((d) => d.includes('status st-succeeded'))).toContain('<code>r1</code>');
  });

  it('a bad filter or label is refused before a stream opens', async () => {
    expect((await client.get('/runs/live?label=nolabel')).status).toBe(400);
    expect((await client.get('/batch/live')).status).toBe(400);
    expect((await client.get('/runs/a.b/live')).status).toBe(404);
  });
});
