import { roundUsd, type PipelineSpec, type RunBudget, type RunState, type SubPipelineStep } from '@pipewright/contracts';

/**
 * A run and its child runs share the run's budget. The budget service books a child's calls under the
 * child's own run id, so the run's ledger sees only the run's own calls: those get the run's limits less
 * what its children hold — the limits given to children still running, and what ended children spent.
 * A child gets at most what the run has left after its own spending and the other running children's
 * limits. A limit the child has of its own (the step's `budget`, else its pipeline's) is held: together
 * the run and such children stay within the run's limits, up to the reservations of the run's own calls
 * in flight at the moment a child starts (the planner does not see those). A child with no limit of its
 * own may spend what the run has left, which is not held from the work running beside it (holding it
 * would leave that work nothing). Pure.
 */

/** The smallest limit sent when nothing is left: the budget service then refuses the call. */
const NOTHING_USD = 1e-9;

/** What this run's children hold: running children's limits (but `exceptStep`'s), and what ended children spent. */
export function heldByChildren(s: RunState, exceptStep?: string): { usd: number; tokens: number } {
  let usd = s.childSpend?.costUsd ?? 0;
  let tokens = s.childSpend?.tokens ?? 0;
  for (const [id, st] of Object.entries(s.steps)) {
    if (id === exceptStep || st.status !== 'dispatched' || !st.child?.budget) continue;
    usd += st.child.budget.maxUsd ?? 0;
    tokens += st.child.budget.maxTokens ?? 0;
  }
  return { usd: roundUsd(usd), tokens };
}

/** The limits of this run's own model calls: the run's, less what its children hold. */
export function ownBudget(s: RunState): RunBudget {
  const held = heldByChildren(s);
  const out: RunBudget = {};
  if (s.budget.maxUsd !== undefined) out.maxUsd = Math.max(NOTHING_USD, roundUsd(s.budget.maxUsd - held.usd));
  if (s.budget.maxTokens !== undefined) out.maxTokens = Math.max(1, Math.floor(s.budget.maxTokens - held.tokens));
  return out;
}

/**
 * The child's limits: its own (the step's `budget`, else its pipeline's), each capped at what this run
 * has left of the limit of the same name — after its spending so far and what its other running
 * children hold; `exhausted` when this run has nothing left to give.
 */
export function childBudget(s: RunState, step: SubPipelineStep, spec: PipelineSpec): { limits: RunBudget; held: RunBudget } | { exhausted: string } {
  const limits: RunBudget = {};
  const ownUsd = step.budget?.maxUsd ?? spec.budget.maxUsd;
  const ownTokens = step.budget?.maxTokens ?? spec.budget.maxTokens;
  const running = heldByChildren({ ...s, childSpend: undefined }, step.id);
  if (s.budget.maxUsd !== undefined) {
    const left = roundUsd(s.budget.maxUsd - s.costUsd - running.usd);
    if (left <= 0) return { exhausted: `the run spent ${s.costUsd} of its maxUsd ${s.budget.maxUsd}${running.usd > 0 ? ` and its running sub-pipelines hold ${running.usd}` : ''}` };
    limits.maxUsd = ownUsd === undefined ? left : Math.min(ownUsd, left);
  } else if (ownUsd !== undefined) limits.maxUsd = ownUsd;
  if (s.budget.maxTokens !== undefined) {
    const left = Math.floor(s.budget.maxTokens - s.usage.totalTokens - running.tokens);
    if (left <= 0) return { exhausted: `the run used ${s.usage.totalTokens} of its maxTokens ${s.budget.maxTokens}${running.tokens > 0 ? ` and its running sub-pipelines hold ${running.tokens}` : ''}` };
    limits.maxTokens = ownTokens === undefined ? left : Math.min(ownTokens, left);
  } else if (ownTokens !== undefined) limits.maxTokens = ownTokens;
  const held: RunBudget = {
    ...(ownUsd !== undefined && limits.maxUsd !== undefined ? { maxUsd: limits.maxUsd } : {}),
    ...(ownTokens !== undefined && limits.maxTokens !== undefined ? { maxTokens: limits.maxTokens } : {}),
  };
  return { limits, held };
}
