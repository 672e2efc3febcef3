import { nanoToUsd, RunId, SCHEMA_VERSION, TenantId, type BudgetStatus, type BudgetStatusReply, type BudgetStatusRequest } from '@pipewright/contracts';
import { z } from 'zod';
import { runCodec, runUsage } from '../ledger/run-ledger.js';
import { windowCodec, windowUsage } from '../ledger/window-ledger.js';
import { ledgerKeys } from '../store/types.js';
import { windowKey, type LedgerContext } from './context.js';

const PipelineName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'a pipeline name is 1-128 letters, digits, ".", "_" or "-"');
const idSchema = { run: RunId, pipeline: PipelineName, tenant: TenantId } as const;

/**
 * Use against limits, read from the stored ledger (never from a replica's cache), so two replicas
 * answer the same. A scope with no ledger yet reports zero use.
 */
export async function status(ctx: LedgerContext, req: BudgetStatusRequest): Promise<BudgetStatusReply> {
  const id = idSchema[req.scope].safeParse(req.id);
  if (!id.success) return { schemaVersion: SCHEMA_VERSION, outcome: 'error', error: { code: 'invalid_request', message: id.error.issues[0]?.message ?? 'invalid id', retryable: false, path: 'id' } };
  const now = Date.now();
  const base = { schemaVersion: SCHEMA_VERSION, outcome: 'status', scope: req.scope, id: req.id, at: new Date(now).toISOString() } as const;
  if (req.scope === 'run') {
    const doc = await ctx.writer.read(ledgerKeys.run(req.id), runCodec);
    const u = doc ? runUsage(doc, now) : { committed: { nano: 0, tokens: 0 }, reserved: { nano: 0, tokens: 0 }, live: 0 };
    const limits = doc?.limits ?? {};
    const out: BudgetStatus = {
      ...base,
      ...amounts(u.committed, u.reserved),
      openReservations: u.live,
      calls: doc?.spent.calls ?? 0,
      ...(limits.maxUsd !== undefined ? { limitUsd: limits.maxUsd } : {}),
      ...(limits.maxTokens !== undefined ? { limitTokens: limits.maxTokens } : {}),
    };
    return out;
  }
  const limit = ctx.settings.limitOf(req.scope, req.id);
  const windowHours = ctx.settings.windowHoursOf(req.scope, req.id);
  const doc = await ctx.writer.read(windowKey({ scope: req.scope, id: req.id }), windowCodec);
  const u = doc ? windowUsage(doc, now, windowHours) : { committed: { nano: 0, tokens: 0, calls: 0 }, reserved: { nano: 0, tokens: 0 }, live: 0 };
  return {
    ...base,
    ...amounts(u.committed, u.reserved),
    openReservations: u.live,
    calls: u.committed.calls,
    windowHours,
    ...(limit?.maxUsd !== undefined ? { limitUsd: limit.maxUsd } : {}),
    ...(limit?.maxTokens !== undefined ? { limitTokens: limit.maxTokens } : {}),
  };
}

function amounts(committed: { nano: number; tokens: number }, reserved: { nano: number; tokens: number }) {
  return { committedUsd: nanoToUsd(committed.nano), committedTokens: committed.tokens, reservedUsd: nanoToUsd(reserved.nano), reservedTokens: reserved.tokens };
}
