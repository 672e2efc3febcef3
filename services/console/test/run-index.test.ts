import { describe, expect, it } from 'vitest';
import { IndexEvent } from '../src/model/events.js';
import { decodeCursor, encodeCursor, toFilter, type ListFilter } from '../src/model/query.js';
import { RunIndex } from '../src/model/run-index.js';
import { RunListQuery } from '@pipewright/contracts';

const T0 = Date.parse('2026-12-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
const ev = (e: Record<string, unknown>) => IndexEvent.parse({ schemaVersion: 1, ...e });
const started = (runId: string, ms: number, labels: Record<string, string> = {}, pipeline = 'p') =>
  ev({ type: 'run.started', runId, at: at(ms), pipeline, tenant: 'default', steps: ['a', 'b'], labels });
const finished = (runId: string, ms: number, status = 'succeeded', costUsd = 0.5) => ev({ type: 'run.finished', runId, at: at(ms), status, usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 }, costUsd, durationMs: 1 });
const filter = (q: Record<string, unknown>): ListFilter => {
  const f = toFilter(RunListQuery.parse(q));
  if (!f.ok) throw new Error(JSON.stringify(f.issues));
  return f.filter;
};

describe('RunIndex (pure core)', () => {
  it('follows a run: started, cost so far, steps done, approval wait, park, finish', () => {
    const ix = new RunIndex();
    ix.apply(started('r1', 0, { batch: 'n1' }));
    expect(ix.get('r1')).toMatchObject({ status: 'running', costUsd: 0 });
    ix.apply(ev({ type: 'step.completed', runId: 'r1', at: at(10), stepId: 'a', costUsd: 0.1, usage: { totalTokens: 30 }, output: { big: 'x' } }));
    ix.apply(ev({ type: 'step.dispatched', runId: 'r1', at: at(11), decisions: [{ action: 'complete-step', stepIds: ['a'] }] }));
    ix.apply(ev({ type: 'approval.requested', runId: 'r1', at: at(12), approvalId: 'ap1' }));
    let s = ix.list(filter({ status: 'waiting_approval' })).runs;
    expect(s.map((r) => [r.runId, r.steps.succeeded, r.costUsd, r.totalTokens])).toEqual([['r1', 1, 0.1, 30]]);
    ix.apply(ev({ type: 'approval.decided', runId: 'r1', at: at(13), approvalId: 'ap1' }));
    ix.apply(ev({ type: 'step.parked', runId: 'r1', at: at(14), stepId: 'b' }));
    expect(ix.get('r1')?.status).toBe('paused');
    ix.apply(ev({ type: 'run.decided', runId: 'r1', at: at(15), decisions: [{ action: 'resume', stepIds: [] }] }));
    expect(ix.get('r1')?.status).toBe('running');
    ix.apply(finished('r1', 20, 'failed', 0.3));
    s = ix.list(filter({ status: 'failed' })).runs;
    expect(s[0]).toMatchObject({ runId: 'r1', status: 'failed', costUsd: 0.3, finishedAt: at(20), steps: { total: 2, succeeded: 1 } });
    expect(ix.list(filter({ status: 'running' })).runs).toEqual([]);
    // a late task result of an ended run changes nothing; a resume makes it run again
    expect(ix.apply(ev({ type: 'step.completed', runId: 'r1', at: at(21), stepId: 'b', costUsd: 9 }))).toBeUndefined();
    ix.apply(ev({ type: 'run.resumed', runId: 'r1', at: at(30), steps: ['b'], reason: 'again', resumeId: 'x' }));
    expect(ix.list(filter({ status: 'running' })).runs[0]).toMatchObject({ runId: 'r1', steps: { succeeded: 1 } });
    expect(ix.list(filter({ status: 'running' })).runs[0]?.finishedAt).toBeUndefined();
  });

  it('ignores events of runs it never saw start', () => {
    const ix = new RunIndex();
    expect(ix.apply(finished('ghost', 1))).toBeUndefined();
    expect(ix.size).toBe(0);
  });

  it('pages newest first with a cursor, no duplicates or gaps, filtered by status, label, pipeline and time', () => {
    const ix = new RunIndex();
    for (let i = 0; i < 250; i++) {
      // two runs per millisecond: the run id breaks ties
      ix.apply(started(`r${String(i).padStart(3, '0')}`, Math.floor(i / 2), { batch: i % 5 === 0 ? 'five' : 'other' }, i % 2 ? 'odd' : 'even'));
      if (i % 3 === 0) ix.apply(finished(`r${String(i).padStart(3, '0')}`, 1000 + i, i % 6 === 0 ? 'failed' : 'succeeded'));
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = ix.list(filter({ limit: '40', ...(cursor ? { cursor } : {}) }));
      seen.push(...page.runs.map((r) => r.runId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(250);
    expect(new Set(seen).size).toBe(250);
    expect(seen[0]).toBe('r249');
    expect(seen.at(-1)).toBe('r000');

    const failed = ix.list(filter({ status: 'failed', label: 'batch=five', limit: '500' })).runs;
    expect(failed.map((r) => r.runId)).toEqual(ix.list(filter({ limit: '500' })).runs.filter((r) => r.status === 'failed' && r.labels['batch'] === 'five').map((r) => r.runId));
    expect(failed.length).toBeGreaterThan(0);
    const two = ix.list(filter({ status: 'failed,running', pipeline: 'odd', limit: '500' })).runs;
    expect(two.every((r) => (r.status === 'failed' || r.status === 'running') && r.pipeline === 'odd')).toBe(true);
    expect(two.length).toBe(ix.list(filter({ limit: '500', pipeline: 'odd' })).runs.filter((r) => r.status !== 'succeeded').length);
    const window = ix.list(filter({ since: at(10), until: at(20), limit: '500' })).runs;
    expect(window.map((r) => r.createdAt).every((c) => c >= at(10) && c < at(20))).toBe(true);
    expect(window).toHaveLength(20);
    expect(ix.list(filter({ label: 'batch=none' })).runs).toEqual([]);
  });

  it('batch stats by label: counts, cost, throughput, failures', () => {
    const ix = new RunIndex();
    for (let i = 0; i < 10; i++) ix.apply(started(`b${i}`, i, { batch: 'x' }));
    ix.apply(started('other', 1, { batch: 'y' }));
    for (let i = 0; i < 6; i++) ix.apply(finished(`b${i}`, 60_000 + i, i < 2 ? 'failed' : 'succeeded', 0.25));
    const b = ix.batch({ batch: 'x' }, T0 + 120_000);
    expect(b).toMatchObject({ total: 10, costUsd: 1.5, firstCreatedAt: at(0), lastFinishedAt: at(60_005) });
    expect(b.counts).toMatchObject({ running: 4, succeeded: 4, failed: 2, cancelled: 0 });
    expect(b.throughputPerMin).toBeCloseTo(6 / 5);
    expect(b.failures.map((f) => f.runId)).toEqual(['b1', 'b0']);
    expect(ix.unfinishedWith({ batch: 'x' }).map((e) => e.runId).sort()).toEqual(['b6', 'b7', 'b8', 'b9']);
  });

  it('evicts the oldest finished runs past the limit, never unfinished ones; drops runs past retention', () => {
    const ix = new RunIndex();
    for (let i = 0; i < 2000; i++) {
      ix.apply(started(`e${i}`, i));
      if (i >= 10) ix.apply(finished(`e${i}`, 5000 + i));
    }
    expect(ix.evict(1000)).toBe(1010);
    expect(ix.size).toBe(990);
    for (let i = 0; i < 10; i++) expect(ix.get(`e${i}`)).toBeDefined();
    expect(ix.get('e10')).toBeUndefined();
    expect(ix.list(filter({ status: 'running', limit: '500' })).runs).toHaveLength(10);
    expect(ix.dropFinishedBefore(T0 + 5000 + 1500)).toBe(480);
    expect(ix.size).toBe(510);
  });

  it('refuses bad statuses, labels and cursors, naming the parameter', () => {
    const bad = (q: Record<string, unknown>) => {
      const f = toFilter(RunListQuery.parse(q));
      return f.ok ? [] : f.issues.map((i) => i.path);
    };
    expect(bad({ status: 'running,nope' })).toEqual(['status']);
    expect(bad({ label: 'novalue' })).toEqual(['label']);
    expect(bad({ label: ['=x'] })).toEqual(['label']);
    expect(bad({ cursor: 'garbage!' })).toEqual(['cursor']);
    expect(decodeCursor(encodeCursor({ createdAtMs: 5, runId: 'r-1' }))).toEqual({ createdAtMs: 5, runId: 'r-1' });
  });

  it('serves a filtered first page from the selective index: it looks at the page, not at every run', () => {
    const ix = new RunIndex();
    const N = 20_000;
    for (let i = 0; i < N; i++) {
      ix.apply(started(`n${i}`, i, { batch: `b${i % 100}` }));
      ix.apply(finished(`n${i}`, i + 10, i % 100 === 0 ? 'failed' : 'succeeded'));
    }
    const visited = (q: Record<string, unknown>) => {
      const stats = { visited: 0 };
      const page = ix.list(filter(q), stats);
      return { n: page.runs.length, visited: stats.visited };
    };
    // 200 failed runs among 20,000: the page comes from the failed list
    expect(visited({ status: 'failed' })).toEqual({ n: 50, visited: 50 });
    expect(visited({ label: 'batch=b7' })).toEqual({ n: 50, visited: 50 });
    // two filters: the smaller list is walked (failed, 200), the label checked on each
    expect(visited({ status: 'failed', label: 'batch=b0', limit: '10' })).toEqual({ n: 10, visited: 10 });
    expect(visited({ status: 'failed', label: 'batch=b1' }).visited).toBe(200);
    expect(visited({ label: 'batch=none' })).toEqual({ n: 0, visited: 0 });
  });
});
