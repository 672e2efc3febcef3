import { createHash } from 'node:crypto';
import { RunStatus, TERMINAL_STATUSES, type BatchStats, type Labels, type RunDetail, type RunEvent, type RunListQuery, type RunSummary, type StepView } from '@pipewright/contracts';
import type { Actor, Authenticator, ConsolePorts, ConsoleRole, OpResult, RunOperator, RunReader, RunsReadModel } from '../../src/ports.js';
import { dashboardRoutes } from '../../src/dashboard/routes.js';
import { DashboardClient } from './dashboard-client.js';

export const TOKENS = { olivia: 'olivia-operate-token-0123456789', rita: 'rita-read-only-token-0123456789' } as const;
const ROLES: Record<string, { name: string; role: ConsoleRole }> = { [TOKENS.olivia]: { name: 'olivia', role: 'operate' }, [TOKENS.rita]: { name: 'rita', role: 'read' } };

/** A run as the reader returns it, with whatever a test overrides. */
export function runDetail(over: Partial<RunDetail> & { runId: string }): RunDetail {
  const stepList: StepView[] = over.stepList ?? [
    { id: 'draft', kind: 'llm', needs: [], status: 'succeeded', attempt: 1, model: { provider: 'default', model: 'sim-small' }, usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 }, costUsd: 0.0001, output: { text: 'hello' } },
    { id: 'review', kind: 'llm', needs: ['draft'], status: 'pending', attempt: 0 },
  ];
  return {
    status: 'running',
    pipeline: 'support-desk',
    tenant: 'default',
    labels: {},
    createdAt: '2026-05-01T12:00:00.000Z',
    updatedAt: '2026-05-01T12:00:01.000Z',
    steps: { total: stepList.length, succeeded: stepList.filter((s) => s.status === 'succeeded').length },
    costUsd: 0.0001,
    totalTokens: 15,
    input: { question: 'where is my order?' },
    usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 },
    stepList,
    decisions: [],
    approvals: [],
    ...over,
  };
}

const summaryOf = (r: RunDetail): RunSummary => {
  const { runId, status, pipeline, tenant, labels, createdAt, updatedAt, finishedAt, steps, costUsd, totalTokens, reason, rerunOf } = r;
  return { runId, status, pipeline, tenant, labels, createdAt, updatedAt, steps, costUsd, totalTokens, ...(finishedAt ? { finishedAt } : {}), ...(reason ? { reason } : {}), ...(rerunOf ? { rerunOf } : {}) };
};

const hasLabels = (r: RunSummary, labels: Labels) => Object.entries(labels).every(([k, v]) => r.labels[k] === v);

/**
 * The console's ports over runs held in memory: what the dashboard's route tests drive. Real code (it
 * filters, pages, notifies and records operations), not a mock of any server.
 */
export class MemoryConsole implements ConsolePorts {
  readonly runs = new Map<string, RunDetail>();
  readonly events = new Map<string, { seq: number; event: RunEvent }[]>();
  readonly operations: { op: string; runId: string; actor: string; body?: unknown }[] = [];
  private readonly listeners = new Set<(s: RunSummary) => void>();
  private readonly eventWaiters = new Set<() => void>();
  private seq = 0;
  jaegerUrl?: string = 'http://127.0.0.1:16686';
  inboxUrl?: string = 'http://127.0.0.1:8080/inbox';

  readonly auth: Authenticator = {
    verify: (token) => ROLES[token],
    fingerprint: createHash('sha256').update(JSON.stringify(ROLES)).digest(),
  };

  put(run: RunDetail): void {
    this.runs.set(run.runId, run);
    for (const l of this.listeners) l(summaryOf(run));
  }

  emit(runId: string, event: RunEvent): void {
    this.events.set(runId, [...(this.events.get(runId) ?? []), { seq: ++this.seq, event }]);
    for (const w of this.eventWaiters) w();
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  readonly model: RunsReadModel = {
    ready: true,
    list: (q: RunListQuery): OpResult<{ runs: RunSummary[]; nextCursor?: string }> => {
      const statuses = q.status?.split(',');
      const labels = Object.fromEntries([q.label ?? []].flat().map((l) => l.split('=') as [string, string]));
      const all = [...this.runs.values()]
        .map(summaryOf)
        .filter((r) => (!statuses || statuses.includes(r.status)) && (!q.pipeline || r.pipeline === q.pipeline) && hasLabels(r, labels) && (!q.since || r.createdAt >= q.since) && (!q.until || r.createdAt < q.until))
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.runId.localeCompare(a.runId));
      const from = q.cursor ? Number(q.cursor) : 0;
      const runs = all.slice(from, from + q.limit);
      return { ok: true, status: 200, value: { runs, ...(from + q.limit < all.length ? { nextCursor: String(from + q.limit) } : {}) } };
    },
    batch: (labels: Labels): BatchStats => {
      const runs = [...this.runs.values()].map(summaryOf).filter((r) => hasLabels(r, labels));
      const counts = Object.fromEntries(RunStatus.options.map((st) => [st, 0])) as Record<RunStatus, number>;
      for (const r of runs) counts[r.status] += 1;
      return {
        labels,
        total: runs.length,
        counts,
        throughputPerMin: 0,
        costUsd: runs.reduce((n, r) => n + r.costUsd, 0),
        totalTokens: runs.reduce((n, r) => n + r.totalTokens, 0),
        failures: runs.filter((r) => TERMINAL_STATUSES.has(r.status) && r.status !== 'succeeded'),
      };
    },
    summary: (runId) => {
      const r = this.runs.get(runId);
      return r ? summaryOf(r) : undefined;
    },
    subscribe: (listener) => {
      this.listeners.add(listener);
      return () => this.listeners.delete(listener);
    },
  };

  readonly reader: RunReader = {
    get: (runId) => Promise.resolve(this.runs.get(runId)),
    events: (runId, { afterSeq, signal }) => this.follow(runId, afterSeq ?? 0, signal),
  };

  private async *follow(runId: string, afterSeq: number, signal: AbortSignal): AsyncGenerator<{ seq: number; event: RunEvent }> {
    let last = afterSeq;
    while (!signal.aborted) {
      for (const e of (this.events.get(runId) ?? []).filter((x) => x.seq > last)) {
        last = e.seq;
        yield e;
        if (e.event.type === 'run.finished') return;
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.eventWaiters.delete(wake);
          signal.removeEventListener('abort', wake);
          resolve();
        };
        this.eventWaiters.add(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
    }
  }

  readonly operator: RunOperator = {
    submit: () => Promise.resolve({ ok: false, status: 400, error: { code: 'bad_request', message: 'not here' } }),
    cancel: (runId, reason, actor) => this.record('cancel', runId, actor, { reason }, () => ({ runIds: [runId], count: 1 })),
    cancelByLabels: () => Promise.resolve({ ok: false, status: 400, error: { code: 'bad_request', message: 'not here' } }),
    resume: (runId, body, actor) => {
      const run = this.runs.get(runId);
      if (run && !['failed', 'timed_out', 'budget_exhausted', 'cancelled'].includes(run.status)) return Promise.resolve({ ok: false, status: 409, error: { code: 'not_resumable', message: `run ${runId} is ${run.status}: only a stopped run can be resumed` } });
      return this.record('resume', runId, actor, body, () => ({ runId, resumeId: 'r1' }));
    },
    rerun: (runId, body, actor) => this.record('rerun', runId, actor, body, () => ({ runId: `${runId}-rerun`, rerunOf: { runId, stepId: body.fromStep } })),
    signal: (runId, name, body, opts) => this.record('signal', runId, opts.actor, body, () => ({ runId, name, signalId: body.signalId ?? 's1' })),
  };

  private record<T>(op: string, runId: string, actor: Actor, body: unknown, value: () => T): Promise<OpResult<T>> {
    if (!this.runs.has(runId)) return Promise.resolve({ ok: false, status: 404, error: { code: 'not_found', message: `no run ${runId}` } });
    this.operations.push({ op, runId, actor: actor.name, body });
    return Promise.resolve({ ok: true, status: 202, value: value() });
  }
}

/** A dashboard over `ports` with two signed-in sessions: olivia may operate, rita may only read. */
export async function operateAndRead(ports: MemoryConsole): Promise<{ olivia: DashboardClient; rita: DashboardClient }> {
  const app = dashboardRoutes(ports, { sessionTtlMs: 3_600_000 });
  const olivia = new DashboardClient(app);
  const rita = new DashboardClient(app);
  await olivia.signIn(TOKENS.olivia);
  await rita.signIn(TOKENS.rita);
  return { olivia, rita };
}
