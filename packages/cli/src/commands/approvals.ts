import { readFileSync } from 'node:fs';
import { errorMessage } from '@pipewright/kit';
import { Option, type Command } from 'commander';
import { Ctx } from '../cli/context.js';
import { UsageError } from '../cli/errors.js';
import { EXIT } from '../cli/exit-codes.js';
import { clean } from '../cli/io.js';
import { errorFor, sendJson, type HttpAnswer, type HttpService } from '../cli/http.js';
import { addApproverOptions, jsonOption, valueOption, type ConnectionFlags } from '../cli/options.js';
import { positiveInt } from '../cli/values.js';
import { runProgram } from '../cli/program-runner.js';

/** Where the approver's HTTP API is and the token to use (PW_APPROVER_URL, PW_APPROVER_TOKEN). */
export interface ApproverSettings {
  url: string | undefined;
  token: string | undefined;
}

type Out = (line: string) => void;
type Flags = Pick<ConnectionFlags, 'approverUrl' | 'approverToken'> & { json?: boolean };

const HINT = '`pipewright dev` prints them for a local stack';

/**
 * `pipewright approvals list|show|approve|reject|edit`: a client of the approver's HTTP API. The
 * audit trail records the token's name as who decided, via `cli`.
 */
export function registerApprovalCommands(program: Command, ctx: Ctx, settings: () => ApproverSettings): void {
  const approvals = program.command('approvals').description('list, inspect and decide human approvals (approver HTTP API: PW_APPROVER_URL, PW_APPROVER_TOKEN)');
  const command = (name: string, description: string) => addApproverOptions(approvals.command(name).description(description).addOption(jsonOption()));
  const call = async (o: Flags, method: string, path: string, opts: { body?: unknown; notFound?: string } = {}): Promise<Record<string, unknown>> => {
    const s = settings();
    const service: HttpService = { name: 'approver', url: o.approverUrl ?? s.url, token: o.approverToken ?? s.token, urlSetting: 'PW_APPROVER_URL (or --approver-url)', tokenSetting: 'PW_APPROVER_TOKEN (or --approver-token)' };
    const answer = await sendJson(service, method, path, { hint: HINT, ...(opts.body !== undefined ? { body: opts.body } : {}) });
    if (isAlreadyDecided(answer)) return answer.body as Record<string, unknown>;
    if (answer.status < 200 || answer.status >= 300) throw errorFor(service, answer, opts.notFound);
    return (answer.body ?? {}) as Record<string, unknown>;
  };
  const decide = async (o: Flags, id: string, verb: string, body: unknown) => {
    const answer = await call(o, 'POST', `/api/approvals/${encodeURIComponent(id)}/${verb}`, { body, notFound: `no approval ${id}` });
    if (o.json) ctx.json(answer);
    decided(ctx, answer, !o.json);
  };

  command('list', 'approvals waiting for a decision (or decided, or all)')
    .addOption(new Option('--status <status>', 'which approvals').choices(['pending', 'decided', 'all']).default('pending'))
    .addOption(valueOption('--limit <n>', 'most approvals shown', positiveInt(500)).default(50))
    .action(async (o: Flags & { status: string; limit: number }) => {
      const body = await call(o, 'GET', `/api/approvals?status=${encodeURIComponent(o.status)}&limit=${o.limit}`);
      if (o.json) return ctx.json(body);
      const rows = (body['approvals'] as ApprovalView[] | undefined) ?? [];
      if (rows.length === 0) return ctx.print(`no ${o.status === 'all' ? '' : `${o.status} `}approvals`);
      for (const a of rows) ctx.print(listLine(a));
    });

  command('show', 'an approval with its context and audit trail')
    .argument('<approvalId>')
    .action(async (id: string, o: Flags) => {
      const body = await call(o, 'GET', `/api/approvals/${encodeURIComponent(id)}`, { notFound: `no approval ${id}` });
      if (o.json) return ctx.json(body);
      ctx.print(showText(body['approval'] as ApprovalView, (body['audit'] as AuditView[] | undefined) ?? []));
    });

  command('approve', 'approve: the step or tool call goes ahead')
    .argument('<approvalId>')
    .option('--comment <text>', 'a note kept with the decision')
    .action((id: string, o: Flags & { comment?: string }) => decide(o, id, 'approve', o.comment ? { comment: o.comment } : {}));

  command('reject', 'reject: the run sees the reason')
    .argument('<approvalId>')
    .requiredOption('--reason <text>', 'why (the run sees it)')
    .action((id: string, o: Flags & { reason: string }) => decide(o, id, 'reject', { reason: o.reason }));

  command('edit', 'approve with edited arguments')
    .argument('<approvalId>')
    .requiredOption('-a, --arguments <json|@file>', "the tool's arguments to run with instead, or a budget request's new limits (checked against the request's schema)")
    .option('--comment <text>', 'a note kept with the decision')
    .action(async (id: string, o: Flags & { arguments: string; comment?: string }) => {
      let args: unknown;
      try {
        args = JSON.parse(o.arguments.startsWith('@') ? readFileSync(o.arguments.slice(1), 'utf8') : o.arguments);
      } catch (err) {
        throw new UsageError(`--arguments is not valid JSON: ${errorMessage(err)}`);
      }
      await decide(o, id, 'edit', { arguments: args, ...(o.comment ? { comment: o.comment } : {}) });
    });
}

/**
 * Runs one `approvals …` command line (without the leading `approvals`) and returns its exit code,
 * for tests and scripts that drive the CLI in-process. Every line (stdout and stderr) goes to `out`.
 */
export async function runApprovalsCommand(args: readonly string[], settings: () => ApproverSettings, out: Out): Promise<number> {
  const ctx = new Ctx({ out, err: out, color: false, errColor: false }, {});
  return runProgram(['approvals', ...args], ctx, (program) => registerApprovalCommands(program, ctx, settings));
}

/** A 409 that carries the decision that stands: an answer to show, not an error. */
function isAlreadyDecided(a: HttpAnswer): boolean {
  return a.status === 409 && typeof a.body === 'object' && a.body !== null && (a.body as { approval?: ApprovalView }).approval?.decision !== undefined;
}

interface ApprovalView {
  approvalId: string;
  status: string;
  deadlineAt?: string;
  escalation?: { to: string; at: string };
  request: {
    runId: string;
    stepId: string;
    pipeline?: string;
    action: { kind: string; tool?: string; arguments?: unknown };
    reason: string;
    reasoning?: string;
    confidence?: number;
    costSoFarUsd?: number;
    traceId?: string;
    requestedAt: string;
    budget?: { exceeded: string; current: Limits; spentUsd: number; spentTokens: number };
  };
  decision?: { decision: string; by: string; via: string; reason?: string; at: string; arguments?: unknown };
}
interface Limits {
  maxUsd?: number;
  maxTokens?: number;
}
interface AuditView {
  at: string;
  actor: string;
  channel: string;
  action: string;
  reason?: string;
  detail?: string;
  before?: unknown;
  after?: unknown;
}

/** What a decision request came to: decided now, already so, or decided otherwise before (exit 1). */
function decided(ctx: Ctx, body: Record<string, unknown>, print: boolean): void {
  const a = body['approval'] as ApprovalView | undefined;
  const d = a?.decision;
  if (!a || !d) return;
  if (body['error'] === 'already_decided') {
    if (print) ctx.print(clean(`already decided: ${d.decision} by ${d.by} (${d.via}) at ${d.at}; that decision stands`));
    ctx.exitCode = EXIT.notSucceeded;
    return;
  }
  if (print) ctx.print(clean(`${body['result'] === 'unchanged' ? 'already ' : ''}${d.decision}: ${a.approvalId} by ${d.by}${d.reason ? ` (${d.reason})` : ''}`));
}

function listLine(a: ApprovalView): string {
  const what = a.request.action.kind === 'tool' ? `tool ${a.request.action.tool ?? '?'}` : a.request.action.kind === 'budget' ? `budget ${a.request.stepId}` : `step ${a.request.stepId}`;
  const state = a.decision ? `${a.decision.decision} by ${a.decision.by}` : a.escalation ? `escalated to ${a.escalation.to}` : 'pending';
  const due = a.deadlineAt && !a.decision ? `  due ${a.deadlineAt}` : '';
  return clean(`${a.approvalId.padEnd(36)} ${state.padEnd(24)} ${what.padEnd(24)} ${a.request.requestedAt}${due}`);
}

function showText(a: ApprovalView, audit: readonly AuditView[]): string {
  const q = a.request;
  const lines = [
    `approval ${a.approvalId}  ${a.decision ? a.decision.decision : a.status}${a.escalation ? `  (escalated to ${a.escalation.to})` : ''}`,
    `run ${q.runId}${q.pipeline ? ` (${q.pipeline})` : ''}  step ${q.stepId}  requested ${q.requestedAt}${a.deadlineAt ? `  deadline ${a.deadlineAt}` : ''}`,
    `action: ${q.action.kind === 'tool' ? `tool ${q.action.tool ?? '?'}` : q.action.kind === 'budget' ? `more budget for step ${q.stepId}` : 'step'}`,
    ...(q.action.kind === 'budget' ? budgetLines(q) : q.action.arguments !== undefined ? [`arguments: ${JSON.stringify(q.action.arguments)}`] : []),
    `why: ${q.reason}`,
    ...(q.confidence !== undefined ? [`confidence: ${Math.round(q.confidence * 100)}%`] : []),
    ...(q.costSoFarUsd !== undefined ? [`cost so far: $${q.costSoFarUsd.toFixed(4)}`] : []),
    ...(q.traceId ? [`trace: ${q.traceId}`] : []),
    ...(q.reasoning ? [`reasoning: ${q.reasoning}`] : []),
    ...(a.decision ? [`decision: ${a.decision.decision} by ${a.decision.by} (${a.decision.via}) at ${a.decision.at}${a.decision.reason ? `: ${a.decision.reason}` : ''}`] : []),
    'audit:',
    ...audit.map((e) => `  ${e.at}  ${e.action.padEnd(13)} ${e.actor} (${e.channel})${e.reason ? `  ${e.reason}` : ''}${e.detail ? `  ${e.detail}` : ''}${e.after !== undefined && e.action === 'edited' ? `  ${JSON.stringify(e.before)} → ${JSON.stringify(e.after)}` : ''}`),
  ];
  // Reasons, reasoning and arguments come from models and pipelines: no control characters reach the terminal.
  return clean(lines.join('\n'));
}

/** A budget request: the run limit in force, what the run spent, and the limits proposed (what `edit` changes). */
function budgetLines(q: ApprovalView['request']): string[] {
  const b = q.budget;
  const proposed = (q.action.arguments ?? {}) as Limits;
  if (!b) return [`proposed limits: ${JSON.stringify(proposed)}`];
  return [
    `run limit now: ${limitsText(b.current)} (${b.exceeded} reached)`,
    `spent so far: $${Number(b.spentUsd.toFixed(6))}, ${b.spentTokens.toLocaleString('en-US')} tokens`,
    `proposed: ${limitsText({ ...b.current, ...proposed })}  (edit: --arguments '${JSON.stringify(proposed)}')`,
  ];
}

function limitsText(l: Limits): string {
  const parts = [...(l.maxUsd !== undefined ? [`maxUsd $${Number(l.maxUsd.toFixed(6))}`] : []), ...(l.maxTokens !== undefined ? [`maxTokens ${l.maxTokens.toLocaleString('en-US')}`] : [])];
  return parts.join(', ') || 'none';
}
