import { RunId, RunStatus, streams, subjects } from '@pipewright/contracts';
import { z } from 'zod';

/**
 * What the index reads of PW_EVENTS: the run-level events, the task results that carry spending, parks
 * and approvals. Left out: `step.started` (one per task: the largest share, and nothing the list shows),
 * `step.revoked` and `task.spent` (spending the run's `run.finished` counts anyway).
 */
export const INDEX_SUBJECTS = [
  subjects.runEvent('*', 'run.>'),
  subjects.runEvent('*', 'step.dispatched'),
  subjects.taskEvents('step.completed'),
  subjects.taskEvents('step.failed'),
  subjects.taskEvents('step.parked'),
  subjects.runEvent('*', 'approval.requested'),
  subjects.runEvent('*', 'approval.decided'),
] as const;
export const INDEX_STREAM = streams.events.name;

// Projections: only the fields the index uses, unknown ones ignored (z.object strips them), so decoding
// a task result never walks its output. The events are the contracts' (strict) ones; these read a subset.
const At = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'a timestamp');
const Decisions = z.array(z.object({ action: z.string(), stepIds: z.array(z.string()).default([]) })).optional();
const Spent = { costUsd: z.number().nonnegative().optional(), usage: z.object({ totalTokens: z.number().int().nonnegative() }).optional() };
const Base = { runId: RunId, at: At, decisions: Decisions };

export const IndexEvent = z.discriminatedUnion('type', [
  z.object({
    ...Base,
    type: z.literal('run.started'),
    pipeline: z.string().max(256),
    tenant: z.string().max(64),
    steps: z.array(z.string()).max(10_000),
    labels: z.record(z.string(), z.string()).optional(),
    rerunOf: z.object({ runId: RunId, stepId: z.string(), reused: z.array(z.string()) }).optional(),
  }),
  z.object({ ...Base, type: z.literal('run.resumed'), steps: z.array(z.string()), reason: z.string() }),
  z.object({
    ...Base,
    type: z.literal('run.finished'),
    status: RunStatus,
    reason: z.string().optional(),
    usage: z.object({ totalTokens: z.number().int().nonnegative() }),
    costUsd: z.number().nonnegative().default(0),
    partial: z.record(z.string(), z.unknown()).optional(),
  }),
  z.object({ ...Base, type: z.literal('run.rejected') }),
  z.object({ ...Base, type: z.literal('run.decided') }),
  z.object({ ...Base, type: z.literal('step.dispatched') }),
  z.object({ ...Base, ...Spent, type: z.literal('step.completed'), stepId: z.string() }),
  z.object({ ...Base, ...Spent, type: z.literal('step.failed'), stepId: z.string() }),
  z.object({ ...Base, ...Spent, type: z.literal('step.parked'), stepId: z.string() }),
  z.object({ ...Base, type: z.literal('approval.requested'), approvalId: z.string() }),
  z.object({ ...Base, type: z.literal('approval.decided'), approvalId: z.string() }),
]);
export type IndexEvent = z.infer<typeof IndexEvent>;
