import { TERMINAL_STATUSES, type RunStatus, type RunSummary } from '@pipewright/contracts';
import type { Keyed } from './sorted-runs.js';

/** A run as the index keeps it: the summary's fields plus what is needed to keep them up to date. */
export interface Entry extends Keyed {
  status: RunStatus;
  pipeline: string;
  tenant: string;
  labels: Readonly<Record<string, string>>;
  createdAt: string;
  updatedAt: string;
  finishedAt?: string;
  finishedAtMs?: number;
  stepIds: readonly string[];
  costUsd: number;
  totalTokens: number;
  reason?: string;
  rerunOf?: { runId: string; stepId: string };
  /** While running: the steps that succeeded (from the planner's `complete-step` decisions). */
  succeeded: Set<string>;
  /** Final count once finished (the sets are dropped then). */
  succeededCount: number;
  /** Approvals the run waits for, and parked steps: what makes it `waiting_approval` / `paused`. */
  approvals: Set<string>;
  parked: Set<string>;
}

export const isFinished = (e: Entry) => TERMINAL_STATUSES.has(e.status);

/** The summary the API shows: a copy, so later changes to the entry never reach a page already answered. */
export function toSummary(e: Entry): RunSummary {
  return {
    runId: e.runId,
    status: e.status,
    pipeline: e.pipeline,
    tenant: e.tenant,
    labels: { ...e.labels },
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
    ...(e.finishedAt !== undefined ? { finishedAt: e.finishedAt } : {}),
    steps: { total: e.stepIds.length, succeeded: isFinished(e) ? e.succeededCount : e.succeeded.size },
    costUsd: roundUsd(e.costUsd),
    totalTokens: e.totalTokens,
    ...(e.reason !== undefined ? { reason: e.reason } : {}),
    ...(e.rerunOf ? { rerunOf: { ...e.rerunOf } } : {}),
  };
}

/** Sums of many small float costs drift (0.1 + 0.2): shown to the nano-dollar, as the budget counts. */
function roundUsd(usd: number): number {
  return Math.round(usd * 1e9) / 1e9;
}
