import type { Hono } from 'hono';
import { RunId, TERMINAL_STATUSES, type RunSummary } from '@pipewright/contracts';
import type { Dashboard, DashEnv, Viewer } from './context.js';
import { readFilters, readLabels } from './filters.js';
import { liveResponse, LiveStreams, type LiveSource } from './live.js';
import { batchBody } from './views/batch.js';
import { runBody } from './views/run.js';
import { runRows } from './views/runs.js';

/** The list and the batch re-render at most this often (a burst of thousands of runs is a few renders). */
const LIST_INTERVAL_MS = 1_000;
/** A run page re-renders at most this often. */
const RUN_INTERVAL_MS = 300;

/**
 * The live views: Server-Sent Events under the session, each message (`html`) the server-rendered,
 * escaped fragment the page script swaps in. A stream without a session is refused (401).
 */
export function liveRoutes(app: Hono<DashEnv>, d: Dashboard): void {
  const streams = new LiveStreams();

  app.get('/runs/live', (c) => {
    if (!d.viewer(c)) return c.text('sign in first', 401);
    const read = readFilters(new URL(c.req.url).searchParams, Date.now());
    if (!read.ok) return c.text(read.problems.join('; '), 400);
    let last = '';
    return liveResponse(c, streams, {
      watch: (changed, signal) => signal.addEventListener('abort', d.ports.model.subscribe(changed), { once: true }),
      flush: () => {
        // "within" slides with time, so the query is read again at each render.
        const again = readFilters(new URL(c.req.url).searchParams, Date.now());
        const page = again.ok ? d.ports.model.list(again.query) : undefined;
        if (!page?.ok) return Promise.resolve([]);
        const signature = page.value.runs.map((r) => `${r.runId}@${r.updatedAt}:${r.status}`).join('|');
        if (signature === last) return Promise.resolve([]);
        last = signature;
        return Promise.resolve([{ event: 'html', data: runRows(page.value.runs, Date.now()).text }]);
      },
    }, LIST_INTERVAL_MS);
  });

  app.get('/batch/live', (c) => {
    if (!d.viewer(c)) return c.text('sign in first', 401);
    const problems: string[] = [];
    const texts = new URL(c.req.url).searchParams.getAll('label');
    const labels = readLabels(texts, problems);
    if (problems.length > 0 || Object.keys(labels).length === 0) return c.text(problems.join('; ') || 'name a label', 400);
    const wanted = Object.entries(labels);
    let last = '';
    return liveResponse(c, streams, {
      watch: (changed, signal) => {
        const mine = (s: RunSummary) => wanted.every(([k, v]) => s.labels[k] === v);
        signal.addEventListener('abort', d.ports.model.subscribe((s) => mine(s) && changed()), { once: true });
      },
      flush: () => {
        const stats = d.ports.model.batch(labels);
        const signature = JSON.stringify(stats);
        if (signature === last) return Promise.resolve([]);
        last = signature;
        return Promise.resolve([{ event: 'html', data: batchBody(stats, texts, Date.now()).text }]);
      },
    }, LIST_INTERVAL_MS);
  });

  app.get('/runs/:runId/live', (c) => {
    const v = d.viewer(c);
    if (!v) return c.text('sign in first', 401);
    const runId = RunId.safeParse(c.req.param('runId'));
    if (!runId.success) return c.text('no such run', 404);
    return liveResponse(c, streams, runSource(d, v, runId.data), RUN_INTERVAL_MS);
  });
}

/**
 * A run page changes with each of the run's events. The event stream ends with `run.finished`; a run
 * resumed after that is noticed by its summary changing, and its events are followed again from where
 * they stopped.
 */
function runSource(d: Dashboard, v: Viewer, runId: string): LiveSource {
  let afterSeq: number | undefined;
  let following = false;
  let last = '';
  const follow = async (changed: () => void, signal: AbortSignal) => {
    following = true;
    try {
      for await (const { seq } of d.ports.reader.events(runId, { ...(afterSeq !== undefined ? { afterSeq } : {}), signal })) {
        afterSeq = seq;
        changed();
      }
    } catch {
      // The stream broke (the bus restarted): the summary subscription below starts it again.
    } finally {
      following = false;
    }
  };
  return {
    watch: (changed, signal) => {
      const stop = d.ports.model.subscribe((s) => {
        if (s.runId !== runId) return;
        changed();
        if (!following && !signal.aborted && !TERMINAL_STATUSES.has(s.status)) void follow(changed, signal);
      });
      signal.addEventListener('abort', stop, { once: true });
      void follow(changed, signal);
    },
    flush: async () => {
      const run = await d.ports.reader.get(runId);
      if (!run) return [];
      // Ages in the page differ from render to render: the run itself decides whether to send again.
      const signature = JSON.stringify([run.updatedAt, run.status, run.costUsd, run.decisions.length, run.approvals, run.stepList.map((s) => [s.status, s.attempt, s.turn])]);
      if (signature === last) return [];
      last = signature;
      return [{ event: 'html', data: runBody({ viewer: v, run, ...d.links, now: Date.now() }).text }];
    },
  };
}
