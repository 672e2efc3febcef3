import type { ApprovalView, RunDetail, StepView } from '@pipewright/contracts';
import { clean, type Style } from '../cli/io.js';
import { elapsed, excerpt, int, labelsText, statusText, usd, when } from './format.js';

/** `runs show`: the run, its steps with what each did and produced, the result, approvals and the decision trail. */
export function renderRun(r: RunDetail, style: Style): string {
  const lines = [
    `run ${style.bold(r.runId)}  ${statusText(r.status, style)}  pipeline ${clean(r.pipeline)}  tenant ${r.tenant}`,
    `created ${when(r.createdAt)}  updated ${when(r.updatedAt)}${r.finishedAt ? `  finished ${when(r.finishedAt)} (${elapsed(Date.parse(r.finishedAt) - Date.parse(r.createdAt))})` : ''}${r.deadlineAt ? `  deadline ${when(r.deadlineAt)}` : ''}`,
    ...(r.reason ? [`reason: ${clean(r.reason)}`] : []),
    ...(Object.keys(r.labels).length > 0 ? [`labels: ${labelsText(r.labels)}`] : []),
    ...(r.rerunOf ? [`re-run of ${r.rerunOf.runId} from step ${r.rerunOf.stepId}`] : []),
    `cost ${usd(r.costUsd)}  tokens ${int(r.usage.inputTokens)} in + ${int(r.usage.outputTokens)} out = ${int(r.usage.totalTokens)}${budgetText(r)}`,
    ...(r.traceId ? [`trace ${r.traceId}${r.traceUrl ? `  ${clean(r.traceUrl)}` : ''}`] : []),
    `steps (${r.steps.succeeded}/${r.steps.total} succeeded):`,
    ...r.stepList.flatMap((s) => stepLines(s, style)),
  ];
  if (r.output !== undefined) lines.push(`output: ${excerpt(r.output, 4_000)}`);
  if (r.partial !== undefined) lines.push(`partial: ${excerpt(r.partial, 4_000)}`);
  if (r.approvals.length > 0) lines.push('approvals:', ...r.approvals.map((a) => `  ${approvalLine(a, style)}`));
  lines.push('decisions:', ...r.decisions.map((d) => `  #${d.seq} ${d.at.slice(11, 23)} on ${clean(d.on)}: ${clean(d.action)}${d.stepIds.length > 0 ? ` ${d.stepIds.join(',')}` : ''} (${clean(d.reason)})`));
  return lines.join('\n');
}

function budgetText(r: RunDetail): string {
  if (!r.budget) return '';
  const parts = [...(r.budget.maxUsd !== undefined ? [`max ${usd(r.budget.maxUsd)}`] : []), ...(r.budget.maxTokens !== undefined ? [`max ${int(r.budget.maxTokens)} tokens`] : [])];
  return parts.length > 0 ? `  (budget ${parts.join(', ')})` : '';
}

/** A step: what ran it (a model, or a tool), its attempts, tokens, cost and time, then its output or error. */
function stepLines(s: StepView, style: Style): string[] {
  const by = s.kind === 'tool' ? `tool ${clean(s.model?.model ?? '?')}` : s.model ? `model ${clean(s.model.model)}` : '';
  const spent = s.kind === 'tool' ? '' : `${s.usage ? `  tokens ${s.usage.inputTokens}+${s.usage.outputTokens}` : ''}${s.costUsd !== undefined ? `  ${usd(s.costUsd)}` : ''}${s.calls !== undefined ? `  calls ${s.calls}` : ''}`;
  const head = [
    `  ${s.id.padEnd(16)} ${s.kind.padEnd(5)} ${statusText(s.status, style, 10)}`,
    `attempt ${s.attempt}`,
    ...(s.turn !== undefined ? [`turn ${s.turn}`] : []),
    ...(by ? [by] : []),
  ].join(' ');
  const tail = `${spent}${s.latencyMs !== undefined ? `  ${elapsed(s.latencyMs)}` : ''}${s.reused ? '  (reused from the source run)' : ''}${s.needs.length > 0 ? style.dim(`  needs ${s.needs.join(',')}`) : ''}`;
  const lines = [`${head}${tail}`];
  lines.push(...flowLines(s, style));
  if (s.approval) lines.push(`      ${style.warn('waiting')} for approval ${clean(s.approval.approvalId)} (${s.approval.kind}): ${clean(s.approval.reason)}`);
  if (s.error) lines.push(`      ${style.bad('error')} ${clean(s.error.code)}: ${clean(s.error.message)}`);
  if (s.output !== undefined) lines.push(`      output ${excerpt(s.output)}`);
  return lines;
}

/** What the steps that call no model themselves are at: a map's items, a skip, a signal wait, a child run. */
function flowLines(s: StepView, style: Style): string[] {
  const out: string[] = [];
  if (s.items) out.push(`      items ${s.items.succeeded}/${s.items.total} succeeded, ${s.items.running} running, ${s.items.failed} failed`);
  if (s.skipReason !== undefined) out.push(`      ${style.dim('skipped')}: ${clean(s.skipReason)}`);
  if (s.signal) out.push(`      ${style.warn('waiting')} for signal ${clean(s.signal.name)} since ${when(s.signal.since)}${s.signal.until ? ` until ${when(s.signal.until)}` : ''}`);
  if (s.child) out.push(`      child run ${clean(s.child.runId)}`);
  return out;
}

function approvalLine(a: ApprovalView, style: Style): string {
  const state = a.status === 'pending' || a.status === 'escalated' ? style.warn(a.status) : a.status === 'rejected' || a.status === 'timed_out' ? style.bad(a.status) : style.ok(a.status);
  const who = a.decidedBy ? ` by ${clean(a.decidedBy)}${a.decidedAt ? ` at ${when(a.decidedAt)}` : ''}` : '';
  return `${clean(a.approvalId)}  step ${a.stepId}  ${state}${who}: ${clean(a.reason)}${a.comment ? ` (${clean(a.comment)})` : ''}`;
}
