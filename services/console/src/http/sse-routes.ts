import { RunListQuery, type RunSummary } from '@pipewright/contracts';
import { Hono } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { matches, toFilter } from '../model/query.js';
import type { ConsolePorts } from '../ports.js';
import { requireRole, type ApiEnv } from './auth.js';
import { apiError, badRequest } from './errors.js';
import { readQuery, runIdParam, StreamQuery } from './input.js';

/** A comment line this often keeps proxies from closing an idle stream (and tells a client it is alive). */
export const SSE_HEARTBEAT_MS = 15_000;
/** Changes queued for one slow `/events` client before it is dropped (it reconnects and re-lists). */
const MAX_QUEUED = 10_000;

export interface SseDeps {
  /** Whether a run exists (the index, the store, or a submit the console accepted that the planner has not started yet). */
  knows(runId: string): Promise<boolean>;
  heartbeatMs?: number;
}

function heartbeat(stream: SSEStreamingApi, ms: number): () => void {
  const t = setInterval(() => void stream.write(': heartbeat\n\n').catch(() => undefined), ms);
  return () => clearInterval(t);
}

/** `GET /runs/{runId}/events` and `GET /events`: Server-Sent Events. */
export function sseRoutes(p: ConsolePorts, d: SseDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const read = requireRole(p.auth, 'read');
  const beatMs = d.heartbeatMs ?? SSE_HEARTBEAT_MS;

  // The run's events from the start (or after Last-Event-ID, a stream sequence), then live, until run.finished.
  app.get('/runs/:runId/events', read, async (c) => {
    const id = runIdParam(c);
    if (!id.ok) return badRequest(c, id.message, id.issues);
    const last = c.req.header('last-event-id');
    if (last !== undefined && !/^\d{1,15}$/.test(last)) return badRequest(c, 'invalid Last-Event-ID', [{ path: 'Last-Event-ID', message: 'a stream sequence (the id of an event this stream sent)' }]);
    if (!(await d.knows(id.value))) return apiError(c, 404, 'not_found', `no run ${id.value}`);
    return streamSSE(c, async (stream) => {
      const abort = new AbortController();
      stream.onAbort(() => abort.abort());
      const stopBeat = heartbeat(stream, beatMs);
      try {
        for await (const { seq, event } of p.reader.events(id.value, { ...(last !== undefined ? { afterSeq: Number(last) } : {}), signal: abort.signal })) {
          await stream.writeSSE({ id: String(seq), event: event.type, data: JSON.stringify(event) });
        }
      } finally {
        stopBeat();
        abort.abort();
      }
    });
  });

  // Every change of a run summary that passes the filters, live (no replay: list first, then follow).
  app.get('/events', read, (c) => {
    const q = readQuery(c, StreamQuery);
    if (!q.ok) return badRequest(c, q.message, q.issues);
    const f = toFilter(RunListQuery.parse({ ...q.value }));
    if (!f.ok) return badRequest(c, 'invalid query', f.issues);
    return streamSSE(c, async (stream) => {
      const queue: RunSummary[] = [];
      let wake: (() => void) | undefined;
      let closed = false;
      const unsubscribe = p.model.subscribe((s) => {
        if (!matches(s, f.filter)) return;
        if (queue.length >= MAX_QUEUED) closed = true;
        else queue.push(s);
        wake?.();
      });
      stream.onAbort(() => {
        closed = true;
        wake?.();
      });
      const stopBeat = heartbeat(stream, beatMs);
      try {
        await stream.write(': subscribed\n\n');
        while (!closed) {
          const s = queue.shift();
          if (s) await stream.writeSSE({ event: 'run', data: JSON.stringify(s) });
          else await new Promise<void>((r) => (wake = r));
        }
      } finally {
        unsubscribe();
        stopBeat();
      }
    });
  });

  return app;
}
